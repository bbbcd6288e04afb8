"""Email backends: one small contract, three ways to deliver.

A backend is opened once per batch and sends many messages over the same connection, as
django's mail backends do. Failures raise our own errors: :class:`TemporaryDeliveryError`
is worth retrying, :class:`PermanentDeliveryError` is not.

    DeliveryError
     ├── TemporaryDeliveryError      4xx for this message: retry it later
     │    └── ConnectionFailedError  no connection, or our sender refused: retry the whole
     │                               batch later
     ├── UncertainDeliveryError      the connection died mid-message: it may have arrived,
     │                               so it is recorded as unknown and never sent again
     ├── PermanentDeliveryError      5xx for that recipient (RCPT): the address bounced
     └── RejectedMessageError        5xx for the message (DATA), or a 5.7.x policy refusal
                                     at RCPT: failed, address kept
"""

from __future__ import annotations

import re
import smtplib
import ssl
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self
from urllib.parse import parse_qs, unquote, urlsplit

from worker.delivery._message import Outgoing


class DeliveryError(Exception):
    """A message was not delivered."""


class TemporaryDeliveryError(DeliveryError):
    """The server or the network failed for now; the same message may succeed later."""


class ConnectionFailedError(TemporaryDeliveryError):
    """No connection could be made: every message of the batch would fail the same way."""


class UncertainDeliveryError(DeliveryError):
    """The server went away while the message was in flight; resending risks a duplicate."""


class PermanentDeliveryError(DeliveryError):
    """The server refused this recipient for good (5xx): retrying only hurts our reputation."""


class RejectedMessageError(DeliveryError):
    """The server refused the message itself (5xx after DATA, e.g. a content policy): the
    address is not at fault, so it is not suppressed."""


class EmailBackend(Protocol):
    def open(self) -> None: ...
    def close(self) -> None: ...
    def send(self, message: Outgoing) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class _Backend:
    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class SmtpBackend(_Backend):
    """SMTP over one reused connection; ``smtp://`` may STARTTLS, ``smtps://`` is implicit TLS.

    SMTP_URL: smtp://user:password@host:587?starttls=true, smtps://user:password@host:465;
    ``cafile=/path/ca.pem`` trusts a private relay's certificate authority.
    """

    def __init__(self, url: str, *, timeout: float = 30, idle_check_after: float = 10) -> None:
        parts = urlsplit(url)
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.implicit_tls = parts.scheme == "smtps"
        self.starttls = options.get("starttls", "").lower() in ("1", "true", "yes")
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.cafile = options.get("cafile")
        self.timeout = timeout
        self.idle_check_after = idle_check_after
        self._connection: smtplib.SMTP | None = None
        self._last_used = 0.0

    def open(self) -> None:
        if self._connection is not None:
            return
        connection: smtplib.SMTP | None = None
        try:
            if self.implicit_tls:
                connection = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self._tls()
                )
            else:
                connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.starttls:
                    connection.starttls(context=self._tls())
            if self.username and self.password:
                connection.login(self.username, self.password)
            connection.ehlo_or_helo_if_needed()  # learn the extensions (PIPELINING) now
        except (OSError, smtplib.SMTPException) as exc:
            if connection is not None:
                connection.close()  # TLS or login failed on an open socket
            raise ConnectionFailedError(
                f"cannot connect to {self.host}:{self.port}: {exc}"
            ) from exc
        self._connection = connection

    def _tls(self) -> ssl.SSLContext:
        # made when needed: loading the system's CA bundle costs ~20 ms a batch otherwise
        return ssl.create_default_context(cafile=self.cafile)

    def close(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.quit()
        except (OSError, smtplib.SMTPException):
            self._connection.close()
        finally:
            self._connection = None

    def send(self, message: Outgoing) -> None:
        """Send over the open connection, first replacing it if the server dropped it idle.

        Once the message is on its way, a lost connection is never answered by sending it
        again: the server may have queued it before hanging up.
        """
        self._replace_if_dropped()
        connection = self._connection
        assert connection is not None
        transaction = _Transaction(connection, message)
        try:
            if connection.has_extn("pipelining"):
                transaction.pipelined()
            else:
                transaction.one_by_one()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._connection = None
            if transaction.data_sent:
                raise UncertainDeliveryError(f"connection lost while sending: {exc}") from exc
            raise TemporaryDeliveryError(f"connection lost before the message: {exc}") from exc
        finally:
            self._last_used = time.monotonic()

    def _replace_if_dropped(self) -> None:
        """A NOOP after an idle spell finds a connection the server closed, before any
        message is at stake; back to back sends skip it."""
        if (
            self._connection is not None
            and time.monotonic() - self._last_used >= self.idle_check_after
        ):
            try:
                alive = self._connection.noop()[0] == 250
            except (smtplib.SMTPException, OSError):
                alive = False
            if not alive:  # closed, or a 421 "closing channel"
                self._connection.close()
                self._connection = None
        self.open()


_LEADING_DOT = re.compile(rb"(?m)^\.")


class _Transaction:
    """One message over an open connection, with each reply classified by the step it
    answers: MAIL (our sender), RCPT (the recipient) or DATA (the message)."""

    def __init__(self, connection: smtplib.SMTP, message: Outgoing) -> None:
        self.connection = connection
        self.message = message
        self.data_sent = False

    def pipelined(self) -> None:
        """MAIL, RCPT and DATA in one write (RFC 2920): two round trips a message, not four."""
        envelope = f"MAIL FROM:<{self.message.sender}>\r\nRCPT TO:<{self.message.recipient}>\r\n"
        self.connection.send(f"{envelope}DATA\r\n".encode("ascii"))
        mail, rcpt, data = (self.connection.getreply() for _ in range(3))
        refusal = _refusal(mail, rcpt)
        if data[0] == 354 and refusal is not None:
            self.connection.send(b".\r\n")  # a server that took DATA anyway: end it empty
            self.connection.getreply()
        if refusal is not None or data[0] != 354:
            self.connection.rset()
            raise refusal or _classify("DATA", *data)
        self._content()

    def one_by_one(self) -> None:
        for step, reply in (
            ("MAIL", self.connection.mail(self.message.sender)),
            ("RCPT", self.connection.rcpt(self.message.recipient)),
        ):
            if reply[0] not in (250, 251):
                self.connection.rset()
                raise _classify(step, *reply)
        code, reply = self.connection.docmd("DATA")
        if code != 354:
            self.connection.rset()
            raise _classify("DATA", code, reply)
        self._content()

    def _content(self) -> None:
        body = self.message.data
        if body.startswith(b".") or b"\n." in body:  # dot-stuffing (RFC 5321 4.5.2)
            body = _LEADING_DOT.sub(b"..", body)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self.data_sent = True
        self.connection.send(body + b".\r\n")
        code, reply = self.connection.getreply()
        if code != 250:
            raise _classify("DATA", code, reply)


def _refusal(mail: tuple[int, bytes], rcpt: tuple[int, bytes]) -> DeliveryError | None:
    if mail[0] != 250:
        return _classify("MAIL", *mail)
    if rcpt[0] not in (250, 251):
        return _classify("RCPT", *rcpt)
    return None


def _classify(step: str, code: int, reply: bytes | str) -> DeliveryError:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
    error = f"{code} {text}"
    if step == "MAIL":
        return ConnectionFailedError(f"sender refused: {error}")
    if not 500 <= code < 600:
        return TemporaryDeliveryError(error)
    if step == "RCPT" and not _POLICY.match(text):
        return PermanentDeliveryError(error)
    # After DATA, or a 5.7.x policy refusal at RCPT (a blocklist, a spam rule): the
    # message was refused, not the mailbox, so the address is not suppressed.
    return RejectedMessageError(error)


# RFC 3463 enhanced status codes: 5.7.x is security or policy status.
_POLICY = re.compile(r"\s*5\.7\.\d{1,3}\b")


class FileBackend(_Backend):
    """Writes each message as an .eml file in an outbox folder, for demos and inspection."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox

    def open(self) -> None:
        self.outbox.mkdir(parents=True, exist_ok=True)

    def send(self, message: Outgoing) -> None:
        recipient = message.recipient.replace("/", "_")
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns()}-{recipient}.eml"
        (self.outbox / name).write_bytes(message.data)


class ConsoleBackend(_Backend):
    """Prints each message on standard output."""

    def send(self, message: Outgoing) -> None:
        text = message.data.decode("ascii", errors="replace").replace("\r\n", "\n")
        sys.stdout.write(text + "\n" + "-" * 79 + "\n")
        sys.stdout.flush()
