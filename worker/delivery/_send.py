"""Send one batch of a digest over one connection, exactly once per subscriber.

The batch's rows are claimed in one transaction; before each message one Redis call
journals the attempt (and the previous result) and checks whether the digest was paused or
cancelled; results reach the database in bulk every FLUSH_EVERY messages and at the end,
when rows never attempted are given back. A redelivered or retried task finds the rows
taken or finished and sends nothing twice; a worker killed mid-batch is settled from its
journal by the sweeper (see _journal.py and _recovery.py). A recipient deferred with a
4xx goes back to pending and the batch goes on; a server that cannot be reached, or that
refuses our sender, stops the batch at once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.utils import parseaddr

import redis
from sqlalchemy import Engine
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
from worker.delivery._journal import Journal
from worker.delivery._message import DigestMessage, Outgoing, sign
from worker.digests import Edition, RenderedDigest
from worker.settings import Settings
from worker.store import (
    DeliveryStatus,
    DigestStatus,
    Newsletter,
    Subscriber,
    digests,
    subscribers,
)
from worker.subscribers import unsubscribe_token

log = logging.getLogger(__name__)


@dataclass
class BatchOutcome:
    sent: int = 0
    bounced: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    halted: bool = False
    deferred: list[str] = field(default_factory=list)
    connection_failed: str = ""


def backend_for(settings: Settings) -> EmailBackend:
    if settings.email_backend == "smtp":
        assert settings.smtp_url is not None  # enforced by load_settings
        return SmtpBackend(settings.smtp_url)
    if settings.email_backend == "file":
        return FileBackend(settings.outbox_dir)
    return ConsoleBackend()


FLUSH_EVERY = 100


def send_batch(
    sessions: sessionmaker[Session],
    settings: Settings,
    backend: EmailBackend,
    redis_client: redis.Redis,
    digest_id: int,
    delivery_ids: list[int],
    *,
    throttle: Callable[[], None] = lambda: None,
) -> BatchOutcome:
    outcome = BatchOutcome()
    token = str(uuid.uuid4())
    with sessions.begin() as session:
        digest = digests.get(session, digest_id)
        if digest is None or digest.status is not DigestStatus.SENDING:
            outcome.skipped = len(delivery_ids)
            return outcome
        newsletter = digest.newsletter
        rendered = RenderedDigest(subject=digest.subject, html=digest.html, text=digest.text)
        outcome.skipped += digests.skip_unconfirmed(session, digest, delivery_ids)
        claimed = digests.claim_batch(session, digest_id, delivery_ids, token)
        recipients = digests.recipients(session, claimed)
    outcome.skipped += len(delivery_ids) - len(claimed) - outcome.skipped
    if not recipients:
        return outcome

    journal = Journal(
        redis_client, token, digest_id, alive_seconds=settings.file.delivery.stale_claim_seconds
    )
    ledger = _Ledger(sessions.kw["bind"], token, newsletter.id, claimed)
    layout = digest_message(settings, newsletter, rendered)
    signer = signer_for(settings)
    last: tuple[int, str, str] | None = None
    attempted: set[int] = set()
    try:
        with backend:
            for delivery_id, subscriber in recipients:
                if delivery_id in ledger.left:
                    continue
                throttle()  # before the attempt is journaled: waiting is not being in flight
                if journal.step(result=last, attempt=delivery_id):
                    outcome.halted = True
                    last = None
                    break
                attempted.add(delivery_id)
                last = _send_one(
                    settings,
                    backend,
                    layout,
                    signer,
                    newsletter.id,
                    delivery_id,
                    subscriber,
                    outcome,
                )
                ledger.add(last, subscriber.id)
                if last[1] == DeliveryStatus.PENDING.value and outcome.connection_failed:
                    break
                if len(ledger) >= FLUSH_EVERY:
                    ledger.flush()
            if last is not None:
                journal.step(result=last, attempt=None)
    finally:
        ledger.flush()
        ledger.release([i for i in claimed if i not in attempted and i not in ledger.left])
        journal.close()
    if outcome.connection_failed:
        raise ConnectionFailedError(outcome.connection_failed)
    if outcome.deferred:
        raise TemporaryDeliveryError(
            f"{len(outcome.deferred)} deferred, first: {outcome.deferred[0]}"
        )
    return outcome


def _send_one(
    settings: Settings,
    backend: EmailBackend,
    layout: DigestMessage,
    signer: DkimSigner | None,
    newsletter_id: int,
    delivery_id: int,
    subscriber: Subscriber,
    outcome: BatchOutcome,
) -> tuple[int, str, str]:
    """Send one message; returns its result as (delivery id, status, message id or error)."""
    try:
        message = address(
            settings,
            layout,
            email=subscriber.email,
            name=subscriber.name,
            token=unsubscribe_token(settings.secret_key, subscriber.id, newsletter_id),
            signer=signer,
        )
    except UnicodeError:
        # A non-ASCII local part needs SMTPUTF8, which this sender does not speak.
        outcome.failed += 1
        return delivery_id, DeliveryStatus.FAILED.value, "address needs SMTPUTF8"
    try:
        backend.send(message)
    except PermanentDeliveryError as exc:
        outcome.bounced += 1
        return delivery_id, DeliveryStatus.BOUNCED.value, str(exc)
    except RejectedMessageError as exc:
        outcome.failed += 1
        return delivery_id, DeliveryStatus.FAILED.value, str(exc)
    except UncertainDeliveryError as exc:
        outcome.unknown += 1
        return delivery_id, DeliveryStatus.UNKNOWN.value, str(exc)
    except ConnectionFailedError as exc:
        outcome.connection_failed = str(exc)
        return delivery_id, DeliveryStatus.PENDING.value, str(exc)
    except TemporaryDeliveryError as exc:
        # This recipient's server says "later"; the others need not wait for it.
        outcome.deferred.append(str(exc))
        return delivery_id, DeliveryStatus.PENDING.value, str(exc)
    outcome.sent += 1
    return delivery_id, DeliveryStatus.SENT.value, message.message_id


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
        language=config.language,
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
    """Results waiting for the database, written in one transaction per flush over one
    connection. A flush also applies hard bounces to the subscriptions and finds held rows
    whose subscriber left meanwhile (``left``), which the batch then skips."""

    def __init__(self, engine: Engine, token: str, newsletter_id: int, claimed: list[int]) -> None:
        self.engine = engine
        self.token = token
        self.newsletter_id = newsletter_id
        self.waiting = set(claimed)  # held, not attempted yet
        self.left: set[int] = set()
        self._results: list[tuple[int, str, str]] = []
        self._bounced: list[int] = []

    def __len__(self) -> int:
        return len(self._results)

    def add(self, result: tuple[int, str, str], subscriber_id: int) -> None:
        self.waiting.discard(result[0])
        self._results.append(result)
        if result[1] == DeliveryStatus.BOUNCED.value:
            self._bounced.append(subscriber_id)

    def flush(self) -> None:
        with self.engine.begin() as connection:
            digests.apply_results(connection, self.token, self._results)
            for subscriber_id in self._bounced:
                subscribers.mark_bounced(connection, subscriber_id, self.newsletter_id)
            self.left |= digests.skip_left_subscribers(
                connection, self.token, self.newsletter_id, sorted(self.waiting - self.left)
            )
        self._results.clear()
        self._bounced.clear()

    def release(self, delivery_ids: list[int]) -> None:
        with self.engine.begin() as connection:
            digests.release(connection, self.token, delivery_ids)
