"""The MIME message of a digest, built once per batch and personalized per recipient.

The email package's EmailMessage costs over a millisecond a message; a digest to 100,000
people cannot afford it. :class:`DigestMessage` lays out the headers and parts once; each
recipient then costs two string substitutions, two quoted-printable encodings (in C) and a
few header lines. The output is plain RFC 5322 / MIME: multipart/alternative with a text
and an HTML part, UTF-8, quoted-printable, CRLF line ends.

Every header value is flattened to one line first and non-ASCII text is RFC 2047 encoded,
so a CR or LF in a title, a name or a configured value never starts a header.
"""

from __future__ import annotations

import binascii
import html
import uuid
from dataclasses import dataclass
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from functools import cache

from worker.delivery._dkim import DkimSigner
from worker.digests import PERSONAL_MARKER, RenderedDigest, greeting
from worker.store import utcnow


def one_line(value: str) -> str:
    return " ".join(value.split())


@dataclass(frozen=True)
class Outgoing:
    """A message as it leaves: the envelope and the exact bytes, signed if DKIM is on."""

    sender: str
    recipient: str
    data: bytes
    message_id: str


class DigestMessage:
    """One rendered digest, ready to be addressed to many recipients."""

    def __init__(
        self,
        rendered: RenderedDigest,
        *,
        sender: str,
        reply_to: str | None,
        list_id: str,
        language: str,
    ) -> None:
        self.language = language
        name, sender_address = parseaddr(one_line(sender))
        self.sender_address = _ascii_address(sender_address)
        self.domain = self.sender_address.rpartition("@")[2] or "localhost"
        self.boundary = f"=_newsroom_{uuid.uuid4().hex}"  # "=_" never occurs in QP text
        common = [
            ("From", _address(name, self.sender_address)),
            ("Subject", _encoded(one_line(rendered.subject))),
            ("List-Id", _encoded(one_line(list_id))),
            # RFC 8058: mailbox providers may unsubscribe with one POST, no page, no login.
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("MIME-Version", "1.0"),
            ("Content-Type", f'multipart/alternative; boundary="{self.boundary}"'),
        ]
        if reply_to:
            common.insert(1, ("Reply-To", _encoded(one_line(reply_to))))
        self._common = "".join(f"{key}: {value}\r\n" for key, value in common)
        self._text = _Part(self.boundary, "text/plain", rendered.text, escape=_same)
        self._html = _Part(self.boundary, "text/html", rendered.html, escape=html.escape)

    def for_recipient(
        self,
        *,
        email: str,
        name: str,
        unsubscribe_url: str,
        unsubscribe_mailto: str,
        view_url: str = "",
    ) -> Outgoing:
        name = one_line(name)  # a name is one line, in the body as in the To header
        values = {
            "greeting": greeting(self.language, name),
            "name": name,
            "email": email,
            "unsubscribe_url": unsubscribe_url,
            "view_url": view_url,
        }
        message_id = f"<{uuid.uuid4().hex}@{self.domain}>"
        recipient = _ascii_address(email)
        headers = (
            f"To: {_address(name, recipient)}\r\n"
            f"Date: {format_datetime(utcnow())}\r\n"
            f"Message-ID: {message_id}\r\n"
            f"List-Unsubscribe: <{one_line(unsubscribe_url)}>, <{one_line(unsubscribe_mailto)}>\r\n"
            f"{self._common}"
        )
        data = b"".join(
            (
                headers.encode("ascii"),
                b"\r\n",
                self._text.fill(values),
                self._html.fill(values),
                f"--{self.boundary}--\r\n".encode("ascii"),
            )
        )
        return Outgoing(self.sender_address, recipient, data, message_id)


def build_message(
    rendered: RenderedDigest,
    *,
    sender: str,
    reply_to: str | None,
    recipient_email: str,
    recipient_name: str,
    unsubscribe_url: str,
    unsubscribe_mailto: str,
    list_id: str,
    language: str = "en",
    view_url: str = "",
) -> Outgoing:
    """One message on its own; batches reuse one DigestMessage instead."""
    layout = DigestMessage(
        rendered, sender=sender, reply_to=reply_to, list_id=list_id, language=language
    )
    return layout.for_recipient(
        email=recipient_email,
        name=recipient_name,
        unsubscribe_url=unsubscribe_url,
        unsubscribe_mailto=unsubscribe_mailto,
        view_url=view_url,
    )


def sign(message: Outgoing, signer: DkimSigner | None) -> Outgoing:
    """Prepend the DKIM signature computed over the exact bytes that will be sent."""
    if signer is None:
        return message
    return Outgoing(
        message.sender,
        message.recipient,
        signer.sign(message.data) + message.data,
        message.message_id,
    )


_SOFT_BREAK = b"=\r\n"


def _same(value: str) -> str:
    return value


class _Part:
    """One body part, quoted-printable encoded once around its personal markers.

    A soft line break may stand between any two encoded characters, so the literal text is
    encoded once and each recipient's values are encoded alone and put between soft breaks:
    every line stays within the 76 characters of RFC 2045, and decoding gives exactly the
    text with the values in place.
    """

    def __init__(self, boundary: str, content_type: str, content: str, *, escape) -> None:
        self.escape = escape
        pieces = PERSONAL_MARKER.split(content)  # literal, field, literal, field, ..., literal
        self.literals = [_qp(piece) for piece in pieces[0::2]]
        self.fields = pieces[1::2]
        self.head = (
            f"--{boundary}\r\n"
            f'Content-Type: {content_type}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        ).encode("ascii")

    def fill(self, values: dict[str, str]) -> bytes:
        chunks = [self.head, self.literals[0]]
        for field, literal in zip(self.fields, self.literals[1:], strict=True):
            chunks += (_SOFT_BREAK, _qp(self.escape(values[field])), _SOFT_BREAK, literal)
        # The CRLF before the next boundary belongs to the boundary (RFC 2046 5.1.1), so it
        # is always added: a body that ends with a line break keeps it.
        return b"".join(chunks) + b"\r\n"


def _qp(text: str) -> bytes:
    """Quoted-printable ready to be followed by a soft break: line ends normalized first
    (CR LF or a lone CR would come out as bare CRs), and encoded with one extra character
    that is then removed, so the last line leaves room for the "=" of the soft break."""
    plain = text.replace("\r\n", "\n").replace("\r", "\n") + "x"
    encoded = binascii.b2a_qp(plain.encode("utf-8"), istext=True)[:-1]
    return encoded.replace(b"\n", b"\r\n")


def _encoded(value: str) -> str:
    """RFC 2047 for non-ASCII header text, as a single logical line."""
    if value.isascii():
        return value
    return Header(value, "utf-8").encode(linesep="\r\n")


def _address(name: str, address: str) -> str:
    """``address`` already in its ASCII form (see _ascii_address)."""
    return formataddr((name, address), charset="utf-8") if name else address


def _ascii_address(address: str) -> str:
    """The address as SMTP without SMTPUTF8 takes it: an international domain in its
    punycode form; a non-ASCII local part raises UnicodeError (the row fails)."""
    local, _, domain = address.rpartition("@")
    local.encode("ascii")
    return f"{local}@{_punycode(domain)}" if local else address


@cache
def _punycode(domain: str) -> str:
    # subscribers share a few thousand domains at most; the idna codec is slow Python
    return domain if domain.isascii() else domain.encode("idna").decode("ascii")
