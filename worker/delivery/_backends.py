"""Email backends: one small contract, three ways to deliver.

A backend is opened once per batch and sends many messages over the same connection, as
django's mail backends do. Failures raise our own errors: :class:`TemporaryDeliveryError`
is worth retrying, :class:`PermanentDeliveryError` is not.

    DeliveryError
     ├── TemporaryDeliveryError   4xx, a dropped connection, a timeout: retry later
     └── PermanentDeliveryError   5xx for that recipient: the address bounced
"""

from __future__ import annotations

import smtplib
import ssl
import sys
import time
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self
from urllib.parse import parse_qs, unquote, urlsplit


class DeliveryError(Exception):
    """A message was not delivered."""


class TemporaryDeliveryError(DeliveryError):
    """The server or the network failed for now; the same message may succeed later."""


class PermanentDeliveryError(DeliveryError):
    """The server refused this recipient for good (5xx): retrying only hurts our reputation."""


class EmailBackend(Protocol):
    def open(self) -> None: ...
    def close(self) -> None: ...
    def send(self, message: EmailMessage) -> None: ...
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

    SMTP_URL: smtp://user:password@host:587?starttls=true, smtps://user:password@host:465.
    """

    def __init__(self, url: str, *, timeout: float = 30) -> None:
        parts = urlsplit(url)
        options = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
        self.implicit_tls = parts.scheme == "smtps"
        self.starttls = options.get("starttls") in ("1", "true", "yes")
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        self._connection: smtplib.SMTP | None = None

    def open(self) -> None:
        if self._connection is not None:
            return
        try:
            connection: smtplib.SMTP
            if self.implicit_tls:
                connection = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.starttls:
                    connection.starttls(context=ssl.create_default_context())
            if self.username and self.password:
                connection.login(self.username, self.password)
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryDeliveryError(
                f"cannot connect to {self.host}:{self.port}: {exc}"
            ) from exc
        self._connection = connection

    def close(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.quit()
        except (OSError, smtplib.SMTPException):
            self._connection.close()
        finally:
            self._connection = None

    def send(self, message: EmailMessage) -> None:
        """Send, reconnecting once if the server dropped the idle connection."""
        for attempt in (1, 2):
            self.open()
            assert self._connection is not None
            try:
                refused = self._connection.send_message(message)
            except smtplib.SMTPServerDisconnected as exc:
                self._connection = None
                if attempt == 2:
                    raise TemporaryDeliveryError(f"server disconnected: {exc}") from exc
                continue
            except smtplib.SMTPRecipientsRefused as exc:
                raise _classify(*next(iter(exc.recipients.values()))) from exc
            except smtplib.SMTPResponseException as exc:
                raise _classify(exc.smtp_code, exc.smtp_error) from exc
            except OSError as exc:
                self._connection = None
                raise TemporaryDeliveryError(f"connection failed: {exc}") from exc
            if refused:
                raise _classify(*next(iter(refused.values())))
            return


def _classify(code: int, reply: bytes | str) -> DeliveryError:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
    error = f"{code} {text}"
    return PermanentDeliveryError(error) if 500 <= code < 600 else TemporaryDeliveryError(error)


class FileBackend(_Backend):
    """Writes each message as an .eml file in an outbox folder, for demos and inspection."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox

    def open(self) -> None:
        self.outbox.mkdir(parents=True, exist_ok=True)

    def send(self, message: EmailMessage) -> None:
        recipient = str(message["To"]).rsplit("<", 1)[-1].strip(">").replace("/", "_")
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns()}-{recipient}.eml"
        (self.outbox / name).write_bytes(bytes(message))


class ConsoleBackend(_Backend):
    """Prints each message on standard output."""

    def send(self, message: EmailMessage) -> None:
        sys.stdout.write(message.as_string() + "\n" + "-" * 79 + "\n")
        sys.stdout.flush()
