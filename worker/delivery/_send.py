"""Send one batch of a digest: claim each ledger row, send, record, over one connection.

Each claim is committed before the send and each result right after it, so a task that is
retried or redelivered skips what another attempt already took, and a worker killed mid-send
leaves exactly one row in ``sending`` (later marked ``unknown``, never resent). A recipient
deferred with a 4xx goes back to pending and the batch goes on; the task is then retried
for what was deferred only. A server that cannot be reached stops the batch at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.utils import parseaddr

from sqlalchemy.orm import Session, sessionmaker

from worker.delivery._backends import (
    ConnectionFailedError,
    ConsoleBackend,
    EmailBackend,
    FileBackend,
    PermanentDeliveryError,
    SmtpBackend,
    TemporaryDeliveryError,
    UncertainDeliveryError,
)
from worker.delivery._message import build_message
from worker.digests import RenderedDigest
from worker.settings import Settings
from worker.store import DeliveryStatus, DigestStatus, digests
from worker.subscribers import unsubscribe_token

log = logging.getLogger(__name__)


@dataclass
class BatchOutcome:
    sent: int = 0
    bounced: int = 0
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
) -> BatchOutcome:
    outcome = BatchOutcome()
    with sessions.begin() as session:
        digest = digests.get(session, digest_id)
        if digest is None or digest.status is not DigestStatus.SENDING:
            outcome.skipped = len(delivery_ids)
            return outcome
        newsletter = digest.newsletter
        rendered = RenderedDigest(subject=digest.subject, html=digest.html, text=digest.text)
        recipients = digests.recipients(session, delivery_ids)
    config = settings.file.newsletters[newsletter.slug]
    sender_domain = parseaddr(config.sender)[1].rpartition("@")[2]

    with backend:
        for delivery_id, subscriber in recipients:
            with sessions.begin() as session:
                if not digests.claim(session, delivery_id):
                    outcome.skipped += 1
                    continue
            token = unsubscribe_token(settings.secret_key, subscriber.id, newsletter.id)
            message = build_message(
                rendered,
                sender=config.sender,
                reply_to=config.reply_to,
                recipient_email=subscriber.email,
                recipient_name=subscriber.name,
                unsubscribe_url=f"{settings.public_base_url}/unsubscribe/{token}",
                unsubscribe_mailto=f"mailto:unsubscribe@{sender_domain}?subject={token}",
                list_id=f"{newsletter.title} <{newsletter.slug}.{sender_domain}>",
            )
            try:
                backend.send(message)
            except PermanentDeliveryError as exc:
                _record(sessions, delivery_id, DeliveryStatus.BOUNCED, str(exc))
                outcome.bounced += 1
            except UncertainDeliveryError as exc:
                _record(sessions, delivery_id, DeliveryStatus.UNKNOWN, str(exc))
                outcome.unknown += 1
            except ConnectionFailedError:
                with sessions.begin() as session:
                    digests.release(session, delivery_id)
                raise
            except TemporaryDeliveryError as exc:
                # This recipient's server says "later"; the others need not wait for it.
                with sessions.begin() as session:
                    digests.release(session, delivery_id)
                outcome.deferred.append(str(exc))
            else:
                _record(
                    sessions, delivery_id, DeliveryStatus.SENT, message_id=message["Message-ID"]
                )
                outcome.sent += 1
    if outcome.deferred:
        raise TemporaryDeliveryError(
            f"{len(outcome.deferred)} deferred, first: {outcome.deferred[0]}"
        )
    return outcome


def _record(
    sessions: sessionmaker[Session],
    delivery_id: int,
    status: DeliveryStatus,
    error: str = "",
    *,
    message_id: str = "",
) -> None:
    with sessions.begin() as session:
        digests.record(session, delivery_id, status, error=error, message_id=message_id)
