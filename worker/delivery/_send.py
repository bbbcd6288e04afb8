"""Send one batch of a digest: claim each ledger row, send, record, over one connection.

Each claim is committed before the send and each result right after it, so a task that is
retried or redelivered skips what another attempt already took, and a worker killed mid-send
leaves exactly one row in ``sending`` (later marked ``unknown``, never resent). A recipient
deferred with a 4xx goes back to pending and the batch goes on; the task is then retried
for what was deferred only. A server that cannot be reached stops the batch at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.utils import parseaddr

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from worker.delivery._backends import (
    ConnectionFailedError,
    ConsoleBackend,
    EmailBackend,
    FileBackend,
    PermanentDeliveryError,
    RejectedMessageError,
    SmtpBackend,
    TemporaryDeliveryError,
    UncertainDeliveryError,
)
from worker.delivery._dkim import DkimSigner
from worker.delivery._message import DigestMessage, Outgoing, sign
from worker.digests import Edition, RenderedDigest
from worker.settings import Settings
from worker.store import DeliveryStatus, DigestStatus, Newsletter, digests, subscribers
from worker.subscribers import unsubscribe_token

log = logging.getLogger(__name__)


@dataclass
class BatchOutcome:
    sent: int = 0
    bounced: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    deferred: list[str] = field(default_factory=list)


def backend_for(settings: Settings) -> EmailBackend:
    if settings.email_backend == "smtp":
        assert settings.smtp_url is not None  # enforced by load_settings
        return SmtpBackend(settings.smtp_url)
    if settings.email_backend == "file":
        return FileBackend(settings.outbox_dir)
    return ConsoleBackend()


def send_batch(
    sessions: sessionmaker[Session],
    settings: Settings,
    backend: EmailBackend,
    digest_id: int,
    delivery_ids: list[int],
    *,
    throttle: Callable[[], None] = lambda: None,
) -> BatchOutcome:
    outcome = BatchOutcome()
    with sessions.begin() as session:
        digest = digests.get(session, digest_id)
        if digest is None or digest.status is not DigestStatus.SENDING:
            outcome.skipped = len(delivery_ids)
            return outcome
        newsletter = digest.newsletter
        rendered = RenderedDigest(subject=digest.subject, html=digest.html, text=digest.text)
        outcome.skipped += digests.skip_unconfirmed(session, digest, delivery_ids)
        recipients = digests.recipients(session, delivery_ids)
    ledger = _Ledger(sessions.kw["bind"])
    signer = signer_for(settings)
    layout = digest_message(settings, newsletter, rendered)

    with backend, ledger:
        for delivery_id, subscriber in recipients:
            if not ledger.claim(delivery_id):
                outcome.skipped += 1
                continue
            try:
                message = address(
                    settings,
                    layout,
                    email=subscriber.email,
                    name=subscriber.name,
                    token=unsubscribe_token(settings.secret_key, subscriber.id, newsletter.id),
                    signer=signer,
                )
            except UnicodeError:
                # A non-ASCII local part needs SMTPUTF8, which this sender does not speak.
                ledger.record(delivery_id, DeliveryStatus.FAILED, "address needs SMTPUTF8")
                continue
            throttle()
            try:
                backend.send(message)
            except PermanentDeliveryError as exc:
                ledger.record(delivery_id, DeliveryStatus.BOUNCED, str(exc))
                ledger.bounce(subscriber.id, newsletter.id)
                outcome.bounced += 1
            except RejectedMessageError as exc:
                ledger.record(delivery_id, DeliveryStatus.FAILED, str(exc))
                outcome.failed += 1
            except UncertainDeliveryError as exc:
                ledger.record(delivery_id, DeliveryStatus.UNKNOWN, str(exc))
                outcome.unknown += 1
            except ConnectionFailedError:
                ledger.record(delivery_id, DeliveryStatus.PENDING)
                raise
            except TemporaryDeliveryError as exc:
                # This recipient's server says "later"; the others need not wait for it.
                ledger.record(delivery_id, DeliveryStatus.PENDING)
                outcome.deferred.append(str(exc))
            else:
                ledger.record(delivery_id, DeliveryStatus.SENT, message_id=message.message_id)
                outcome.sent += 1
    if outcome.deferred:
        raise TemporaryDeliveryError(
            f"{len(outcome.deferred)} deferred, first: {outcome.deferred[0]}"
        )
    return outcome


def digest_message(
    settings: Settings, newsletter: Newsletter, rendered: RenderedDigest
) -> DigestMessage:
    """The digest's message, laid out once for a whole batch."""
    config = settings.file.newsletters[newsletter.slug]
    return DigestMessage(
        rendered,
        sender=config.sender,
        reply_to=config.reply_to,
        list_id=f"{newsletter.title} <{newsletter.slug}.{_domain(config.sender)}>",
    )


def address(
    settings: Settings,
    message: DigestMessage,
    *,
    email: str,
    name: str,
    token: str,
    signer: DkimSigner | None,
) -> Outgoing:
    """The digest for one recipient, with its own unsubscribe links, signed if DKIM is on."""
    return sign(
        message.for_recipient(
            email=email,
            name=name,
            unsubscribe_url=f"{settings.public_base_url}/unsubscribe/{token}",
            unsubscribe_mailto=f"mailto:unsubscribe@{message.domain}?subject={token}",
        ),
        signer,
    )


def _domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2]


def signer_for(settings: Settings) -> DkimSigner | None:
    dkim = settings.file.delivery.dkim
    if dkim is None or settings.dkim_private_key is None:
        return None
    return DkimSigner(dkim.selector, dkim.domain, settings.dkim_private_key)


def send_test(settings: Settings, backend: EmailBackend, edition: Edition, *, to: str) -> Outgoing:
    """One real copy for an editor, marked as a test, outside any ledger. Its unsubscribe
    link is signed for no subscriber, so following it changes nothing."""
    rendered = replace(edition.rendered, subject=f"[TEST] {edition.rendered.subject}")
    message = address(
        settings,
        digest_message(settings, edition.newsletter, rendered),
        email=to,
        name="",
        token=unsubscribe_token(settings.secret_key, 0, edition.newsletter.id),
        signer=signer_for(settings),
    )
    with backend:
        backend.send(message)
    return message


class _Ledger:
    """Writes a message's result in the same transaction that claims the next row: one
    commit a message instead of two, and still no send without a committed claim. It holds
    one Core connection for the batch: the ORM's bookkeeping would cost more than the
    statements."""

    def __init__(self, engine: Engine) -> None:
        self.connection = engine.connect()
        self._results: list[Callable[[Connection], object]] = []

    def claim(self, delivery_id: int) -> bool:
        with self.connection.begin():
            self._write()
            return digests.claim(self.connection, delivery_id)

    def record(
        self, delivery_id: int, status: DeliveryStatus, error: str = "", *, message_id: str = ""
    ) -> None:
        self._results.append(
            lambda connection: digests.record(
                connection, delivery_id, status, error=error, message_id=message_id
            )
        )

    def bounce(self, subscriber_id: int, newsletter_id: int) -> None:
        """A hard bounce suppresses the address from this newsletter's later digests."""
        self._results.append(
            lambda connection: subscribers.mark_bounced(connection, subscriber_id, newsletter_id)
        )

    def _write(self) -> None:
        for result in self._results:
            result(self.connection)
        self._results.clear()

    def __enter__(self) -> _Ledger:
        return self

    def __exit__(self, *_: object) -> None:
        try:
            if self._results:
                with self.connection.begin():
                    self._write()
        finally:
            self.connection.close()
