"""Send one batch of a digest over one connection, exactly once per subscriber.

The batch's rows are claimed in one transaction; before each message one Redis call
journals the attempt (and the previous result) and checks whether the digest was paused or
cancelled; results reach the database in bulk every FLUSH_EVERY messages and at the end,
when rows never attempted are given back. A redelivered or retried task finds the rows
taken or finished and sends nothing twice; a worker killed mid-batch is settled from its
journal by the sweeper (see _journal.py and _recovery.py), which first revokes the run so
that, should it only have been stalled, it sends nothing more. Each flush also re-reads
the digest's status, so a pause or cancel holds even without the Redis halt flag. A
recipient deferred with a
4xx goes back to pending and the batch goes on; a server that cannot be reached, or that
refuses our sender, stops the batch at once.
"""

from __future__ import annotations

import contextlib
import logging
import time
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
    DeliveryError,
    EmailBackend,
    FileBackend,
    PermanentDeliveryError,
    RejectedMessageError,
    SmtpBackend,
    TemporaryDeliveryError,
    UncertainDeliveryError,
)
from worker.delivery._dkim import DkimSigner
from worker.delivery._journal import Journal, RunRevoked
from worker.delivery._message import DigestMessage, Outgoing, sign
from worker.digests import Edition, RenderedDigest, view_token, view_url
from worker.settings import Settings
from worker.store import (
    DeliveryStatus,
    DigestStatus,
    Newsletter,
    Subscriber,
    address_hash,
    digests,
    session_factory,
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
    out_of_time: bool = False
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
    throttle: Callable[[Callable[[], None]], None] = lambda _keep_alive: None,
    deadline: float | None = None,
) -> BatchOutcome:
    """Send a batch; stop early when the digest halts or when ``deadline`` (a
    time.monotonic() value) passes, giving back what was not attempted."""
    outcome = BatchOutcome()
    token = str(uuid.uuid4())
    # The journal exists before any row is claimed: a run that dies at any point after the
    # claim is settled from it, not written off.
    journal = Journal(
        redis_client, token, digest_id, alive_seconds=settings.file.delivery.stale_claim_seconds
    )
    try:
        with sessions.begin() as session:
            digest = digests.get(session, digest_id)
            if digest is None or digest.status is not DigestStatus.SENDING:
                journal.close()
                outcome.skipped = len(delivery_ids)
                return outcome
            newsletter = digest.newsletter
            layout = digest_message(
                settings,
                newsletter,
                RenderedDigest(subject=digest.subject, html=digest.html, text=digest.text),
            )
            digests.skip_unsubscribed(session, digest.newsletter_id, delivery_ids)
            claimed = digests.claim_batch(session, digest_id, delivery_ids, token)
            recipients = digests.recipients(session, claimed)
    except BaseException:
        # the connection goes back; the journal stays (it expires) in case the claim was
        # committed after all, for the sweeper to settle from
        journal.close(keep=True)
        raise
    outcome.skipped = len(delivery_ids) - len(claimed)
    ledger = _Ledger(sessions.kw["bind"], token, newsletter.id, digest_id, claimed)
    last: tuple[int, str, str] | None = None
    revoked = False
    try:
        signer = signer_for(settings)
        with backend:
            for delivery_id, subscriber in recipients:
                if delivery_id in ledger.left:
                    continue
                throttle(journal.keep_alive)  # waiting is neither in flight nor dead
                if deadline is not None and time.monotonic() > deadline:
                    outcome.out_of_time = True  # a slow (rate-limited) batch hands over
                    break
                # The attempt is journaled while the message is built; the reply is read
                # (and the halt flag checked) before anything is sent.
                journal.begin_step(result=last, attempt=delivery_id)
                message = _compose(settings, layout, signer, newsletter.id, digest_id, subscriber)
                if journal.end_step() or ledger.halted:
                    outcome.halted = True
                    break
                ledger.attempted.add(delivery_id)
                last = _deliver(backend, message, delivery_id, outcome)
                ledger.add(last, subscriber.id)
                if outcome.connection_failed:
                    break
                if len(ledger) >= FLUSH_EVERY:
                    ledger.flush()
    except RunRevoked:
        revoked = True  # the sweeper owns these rows now: write nothing, give nothing back
        raise
    finally:
        if revoked:
            journal.close(keep=True)
        else:
            _close_run(journal, ledger, last)
    if outcome.connection_failed:
        raise ConnectionFailedError(outcome.connection_failed)
    if outcome.deferred:
        error = TemporaryDeliveryError(
            f"{len(outcome.deferred)} deferred, first: {outcome.deferred[0]}"
        )
        error.delivery_ids = list(ledger.deferred)  # type: ignore[attr-defined]
        raise error
    return outcome


def _close_run(journal: Journal, ledger: _Ledger, last: tuple[int, str, str] | None) -> None:
    """Journal the last result, write every result, give back what was never attempted,
    then drop the journal. A message attempted with no result (an error escaped) is
    unknown. If the database is down, the journal stays for the sweeper."""
    if last is not None:
        with contextlib.suppress(redis.RedisError, RunRevoked):
            journal.step(result=last, attempt=None)
    ledger.add_unknown_for_unrecorded()
    try:
        ledger.flush()
        ledger.release()
    except Exception:
        journal.close(keep=True)  # the database is down: the sweeper settles from the journal
        raise
    journal.close()


def _compose(
    settings: Settings,
    layout: DigestMessage,
    signer: DkimSigner | None,
    newsletter_id: int,
    digest_id: int,
    subscriber: Subscriber,
) -> Outgoing | str:
    """The message for one subscriber, or why there can be none."""
    try:
        return address(
            settings,
            layout,
            email=subscriber.email,
            name=subscriber.name,
            subscriber_id=subscriber.id,
            newsletter_id=newsletter_id,
            digest_id=digest_id,
            signer=signer,
        )
    except UnicodeError:
        return "a non-ASCII address needs SMTPUTF8, which this sender does not speak"


def _deliver(
    backend: EmailBackend, message: Outgoing | str, delivery_id: int, outcome: BatchOutcome
) -> tuple[int, str, str]:
    """Send one message; returns its result as (delivery id, status, message id or error)."""
    if isinstance(message, str):
        outcome.failed += 1
        return delivery_id, DeliveryStatus.FAILED.value, message
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


class NewsletterNotConfigured(TemporaryDeliveryError):
    """A newsletter added to the configuration after this worker started: retried, so the
    batch goes out once the workers are restarted, and shown in the digest's events."""


def digest_message(
    settings: Settings, newsletter: Newsletter, rendered: RenderedDigest
) -> DigestMessage:
    """The digest's message, laid out once for a whole batch."""
    config = settings.file.newsletters.get(newsletter.slug)
    if config is None:
        raise NewsletterNotConfigured(
            f"newsletter {newsletter.slug!r} is not in this worker's configuration "
            "(restart the workers after changing it)"
        )
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
    subscriber_id: int,
    newsletter_id: int,
    digest_id: int,
    signer: DkimSigner | None,
) -> Outgoing:
    """The digest for one recipient, with its own unsubscribe and view-in-browser links,
    signed if DKIM is on."""
    token = unsubscribe_token(settings.secret_key, subscriber_id, newsletter_id)
    view = view_token(settings.secret_key, subscriber_id, digest_id)
    return sign(
        message.for_recipient(
            email=email,
            name=name,
            unsubscribe_url=f"{settings.public_base_url}/unsubscribe/{token}",
            unsubscribe_mailto=f"mailto:unsubscribe@{message.domain}?subject={token}",
            view_url=view_url(settings.public_base_url, view),
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


class SuppressedAddress(DeliveryError):
    """The address left, bounced, complained or was erased: nothing is sent to it, not even
    an editor's test copy."""


def send_test(settings: Settings, backend: EmailBackend, edition: Edition, *, to: str) -> Outgoing:
    """One real copy for an editor, marked as a test, outside any ledger. Its unsubscribe
    link is signed for no subscriber, so following it changes nothing. ``to`` is an
    address as normalize_address() gives it; a suppressed one raises SuppressedAddress."""
    with session_factory(settings.database_url).begin() as session:
        reasons = subscribers.suppression_reasons(session, address_hash(to), edition.newsletter.id)
    if reasons:
        raise SuppressedAddress(
            f"{to} is on the suppression list ({', '.join(sorted(reasons))}): "
            "nothing is sent to it, test copies included"
        )
    rendered = replace(edition.rendered, subject=f"[TEST] {edition.rendered.subject}")
    message = address(
        settings,
        digest_message(settings, edition.newsletter, rendered),
        email=to,
        name="",
        subscriber_id=0,
        newsletter_id=edition.newsletter.id,
        digest_id=0,
        signer=signer_for(settings),
    )
    with backend:
        backend.send(message)
    return message


class _Ledger:
    """Results waiting for the database, written in one transaction per flush over one
    connection. A flush also applies hard bounces to the subscriptions, finds held rows
    whose subscriber left meanwhile (``left``, skipped), and reads the digest's status, so
    a pause or a cancel stops the batch even if the Redis halt flag was lost."""

    def __init__(
        self, engine: Engine, token: str, newsletter_id: int, digest_id: int, claimed: list[int]
    ) -> None:
        self.engine = engine
        self.token = token
        self.newsletter_id = newsletter_id
        self.digest_id = digest_id
        self.claimed = claimed
        self.attempted: set[int] = set()
        self.recorded: set[int] = set()
        self.deferred: list[int] = []
        self.left: set[int] = set()
        self.halted = False
        self._results: list[tuple[int, str, str]] = []
        self._bounced: list[int] = []

    def __len__(self) -> int:
        return len(self._results)

    def add(self, result: tuple[int, str, str], subscriber_id: int) -> None:
        self._results.append(result)
        self.recorded.add(result[0])
        if result[1] == DeliveryStatus.BOUNCED.value:
            self._bounced.append(subscriber_id)
        elif result[1] == DeliveryStatus.PENDING.value:
            self.deferred.append(result[0])

    def add_unknown_for_unrecorded(self) -> None:
        for delivery_id in sorted(self.attempted - self.recorded):
            self._results.append((delivery_id, DeliveryStatus.UNKNOWN.value, "send interrupted"))
            self.recorded.add(delivery_id)

    def flush(self) -> None:
        waiting = sorted(set(self.claimed) - self.attempted - self.left)
        with self.engine.begin() as connection:
            digests.apply_results(connection, self.token, self._results)
            for subscriber_id in self._bounced:
                subscribers.mark_bounced(connection, subscriber_id, self.newsletter_id)
            self.left |= digests.skip_unsubscribed(
                connection, self.newsletter_id, waiting, held_by=self.token
            )
            self.halted = digests.status_of(connection, self.digest_id) is not DigestStatus.SENDING
        self._results.clear()
        self._bounced.clear()

    def release(self) -> None:
        never = [i for i in self.claimed if i not in self.attempted and i not in self.left]
        with self.engine.begin() as connection:
            digests.release(connection, self.token, never)
