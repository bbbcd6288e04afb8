"""Build the MIME message of one digest for one subscriber.

The digest is already rendered and inlined; this only fills the personal markers and sets
the headers. Header values go through the email package's strict policy, and every value
is flattened to one line first, so a CR or LF in a title or a name never starts a header.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr

from worker.delivery._dkim import DkimSigner
from worker.digests import RenderedDigest, personalize
from worker.store import utcnow

# RFC 5322 allows 998 characters a line. The default 78 makes the email package fold long
# headers into RFC 2047 encoded words, which turns List-Unsubscribe's URLs into text no
# mailbox provider can follow.
POLICY = SMTP.clone(max_line_length=998)


def one_line(value: str) -> str:
    return " ".join(value.split())


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
) -> EmailMessage:
    personal = personalize(
        rendered,
        {"name": recipient_name, "email": recipient_email, "unsubscribe_url": unsubscribe_url},
    )
    sender_name, sender_address = parseaddr(one_line(sender))
    message = EmailMessage(policy=POLICY)
    message["Subject"] = one_line(personal.subject)
    message["From"] = _address(sender_name, sender_address)
    message["To"] = _address(recipient_name, recipient_email)
    if reply_to:
        message["Reply-To"] = one_line(reply_to)
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid(domain=sender_address.rpartition("@")[2] or None)
    message["List-Id"] = one_line(list_id)
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>, <{unsubscribe_mailto}>"
    # RFC 8058: mailbox providers may unsubscribe with one POST, no page, no login.
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(personal.text, cte="quoted-printable")
    message.add_alternative(personal.html, subtype="html", cte="quoted-printable")
    return message


@dataclass(frozen=True)
class Outgoing:
    """A message as it leaves: the envelope and the exact bytes, signed if DKIM is on."""

    sender: str
    recipient: str
    data: bytes
    message_id: str


def finalize(message: EmailMessage, signer: DkimSigner | None = None) -> Outgoing:
    """Serialize once (CRLF line ends, as SMTP wants) and sign those bytes."""
    data = message.as_bytes(policy=POLICY)
    if signer is not None:
        data = signer.sign(data) + data
    return Outgoing(
        sender=message["From"].addresses[0].addr_spec,
        recipient=message["To"].addresses[0].addr_spec,
        data=data,
        message_id=str(message["Message-ID"]),
    )


def _address(name: str, address: str) -> Address:
    local, _, domain = address.rpartition("@")
    return Address(display_name=one_line(name), username=local, domain=domain)
