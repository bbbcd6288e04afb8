"""Celery tasks: thin wrappers that load by id, call a plain function and record the outcome.

Arguments are ids and plain JSON values. Retries are only for failures that can pass
(a server answering 4xx, a dropped connection); everything else is recorded and left alone.
Recovery does not wait for Celery: with the Redis broker an unacknowledged message comes
back only after the visibility timeout (an hour), so beat runs ``sweep_digests``, which
settles the rows of batch runs whose worker died (from their journals) and re-dispatches
the pending rows of a stalled digest. Dispatching twice is harmless: a row is claimed by
one run before it is sent, and a run the sweeper took over sends nothing more.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from celery import Task
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from worker import social
from worker.celery_app import app, current_redis
from worker.delivery import (
    RateLimiter,
    RunRevoked,
    TemporaryDeliveryError,
    backend_for,
    halt,
    send_batch,
    settle_dead_runs,
    throttle,
    unhalt,
)
from worker.digests import queue_scheduled
from worker.dispatch import plan_social_posts
from worker.settings import Settings, get_settings
from worker.store import DigestStatus, digests, session_factory, utcnow
from worker.store import articles as article_store
from worker.subscribers.confirmation import send_confirmation_batch

log = logging.getLogger(__name__)

# A batch stops taking new messages after this long and hands the rest over, well inside
# the task's soft time limit (540 s): at a low send rate 500 messages take longer.
BATCH_SECONDS = 420

# An event still unhandled after this long lost its after-commit publish (a crash between
# the commit and the broker): the sweeper publishes it again.
EVENT_GRACE = timedelta(minutes=2)


def _sessions() -> sessionmaker[Session]:
    return session_factory(get_settings().database_url)


def backoff(retries: int) -> int:
    """Seconds before retry n: 10 s, 20 s, 40 s ... capped at 10 minutes."""
    return int(min(600, 10 * 2**retries))


@app.task(name="worker.tasks.article_published")
def article_published(event_id: int) -> None:
    """An article was published: plan its social posts (once: the event is claimed)."""
    with _sessions().begin() as session:
        event = article_store.claim_event(session, event_id)
        if event is not None:
            planned = plan_social_posts(session, get_settings(), event.article)
            log.info("article %s published: %s posts planned", event.article_id, len(planned))


@app.task(name="worker.tasks.redispatch_article_events")
def redispatch_article_events() -> int:
    with _sessions().begin() as session:
        lost = [e.id for e in article_store.unhandled_events(session, older_than=EVENT_GRACE)]
    for event_id in lost:
        article_published.delay(event_id)
    return len(lost)


@app.task(name="worker.tasks.send_digest")
def send_digest(digest_id: int) -> int:
    """Start (or carry on) a digest: fan its pending rows out in batches."""
    settings = get_settings()
    sessions = _sessions()
    with sessions.begin() as session:
        digest = digests.get(session, digest_id)
        if digest is None:
            return 0
        if digest.status is DigestStatus.QUEUED and (digest.scheduled_at or utcnow()) > utcnow():
            return 0  # queued for later: the scheduler dispatches it when its time comes
        if digest.status is DigestStatus.QUEUED:
            digests.set_status(session, digest, DigestStatus.SENDING)
        if digest.status is not DigestStatus.SENDING:
            return 0
    # SENDING is committed before any batch is published: a batch that starts at once must
    # find the digest sending, or it would skip its rows.
    batches = 0
    with sessions.begin() as session:
        for batch in digests.pending_batches(session, digest_id, settings.file.delivery.batch_size):
            send_digest_batch.delay(digest_id, batch)
            batches += 1
        digests.finish_if_done(session, digest_id)
    return batches


@app.task(bind=True, name="worker.tasks.send_digest_batch", max_retries=8)
def send_digest_batch(self: Task, digest_id: int, delivery_ids: list[int]) -> None:
    settings = get_settings()
    sessions = _sessions()
    try:
        outcome = send_batch(
            sessions,
            settings,
            backend_for(settings),
            current_redis(),
            digest_id,
            delivery_ids,
            throttle=_throttle(settings, sessions, digest_id),
            deadline=time.monotonic() + BATCH_SECONDS,
        )
    except RunRevoked:
        log.warning("digest %s: batch revoked by the sweeper; it settles the rows", digest_id)
        return
    except OperationalError as exc:
        # The database out of reach (a restart, a failover). Retrying is safe: rows the
        # batch had claimed are not claimed again, and the sweeper settles them from the
        # journal. Past the last retry the stall sweeper dispatches the pending rows again.
        if self.request.retries >= self.max_retries:
            raise
        what = f"batch stopped: database out of reach ({_reason(exc)})"
        raise _retry_later(self, sessions, digest_id, what, exc) from exc
    except TemporaryDeliveryError as exc:
        # only what was deferred in this attempt: rows a pause gave back stay pending
        deferred = getattr(exc, "delivery_ids", delivery_ids)
        attempt = self.request.retries + 1
        if attempt > self.max_retries:
            with sessions.begin() as session:
                digests.fail_pending(session, deferred, str(exc))
                digests.record_event(
                    session,
                    digest_id,
                    f"{len(deferred)} messages failed after {attempt} attempts: {exc}",
                )
        else:
            what = f"{len(deferred)} messages deferred ({exc})"
            raise _retry_later(self, sessions, digest_id, what, exc) from exc
    else:
        if outcome.out_of_time:
            send_digest.delay(digest_id)  # the rows it gave back go out in new batches
        log.info(
            "digest %s batch of %s: %s sent, %s bounced, %s failed, %s unknown, %s skipped%s",
            digest_id,
            len(delivery_ids),
            outcome.sent,
            outcome.bounced,
            outcome.failed,
            outcome.unknown,
            outcome.skipped,
            " (halted)" if outcome.halted else "",
        )
    try:
        with sessions.begin() as session:
            digests.finish_if_done(session, digest_id)
    except OperationalError as exc:
        # the batch itself is recorded (or its journal kept); the sweeper finishes the digest
        log.warning("digest %s: left for the sweeper to finish (%s)", digest_id, _reason(exc))


def _retry_later(
    task: Task, sessions: sessionmaker[Session], digest_id: int, what: str, exc: Exception
) -> Exception:
    """The batch's retry on the backoff, told in the digest's status; for the caller to
    raise."""
    countdown = backoff(task.request.retries)
    attempt = task.request.retries + 2  # the one to come
    _note(
        sessions, digest_id, f"{what}; attempt {attempt} of {task.max_retries + 1} in {countdown} s"
    )
    return task.retry(exc=exc, countdown=countdown)


def _reason(exc: OperationalError) -> str:
    """Why the database could not be reached, in the driver's words: never the statement
    and its parameters, which SQLAlchemy's message carries."""
    return (str(exc.orig).splitlines() or [type(exc.orig).__name__])[0]


def _note(sessions: sessionmaker[Session], digest_id: int, message: str) -> None:
    """An event for the digest's status; best effort, as the log line beside it: the
    database may be the thing that is failing."""
    log.warning("digest %s: %s", digest_id, message)
    try:
        with sessions.begin() as session:
            digests.record_event(session, digest_id, message)
    except SQLAlchemyError:
        log.exception("digest %s: the event could not be recorded", digest_id)


def _throttle(
    settings: Settings, sessions: sessionmaker[Session], digest_id: int
) -> Callable[[Callable[[], None]], None]:
    """The provider's rate and the newsletter's, both shared by every worker."""
    with sessions.begin() as session:
        digest = digests.get(session, digest_id)
        slug = digest.newsletter.slug if digest else ""
    rates = {
        "newsroom:rate:smtp": settings.file.delivery.rate_per_second,
        f"newsroom:rate:newsletter:{slug}": (
            settings.file.newsletters[slug].rate_per_second if slug else None
        ),
    }
    limiters = [RateLimiter(current_redis(), key, rate) for key, rate in rates.items() if rate]
    return throttle(limiters)


@app.task(name="worker.tasks.sweep_digests")
def sweep_digests() -> dict[str, int]:
    """Finish what crashes and lost messages left behind (run by beat)."""
    settings = get_settings()
    delivery = settings.file.delivery
    sessions = _sessions()
    settled = settle_dead_runs(
        sessions, current_redis(), older_than=timedelta(seconds=delivery.stale_claim_seconds)
    )
    stalled_before = utcnow() - timedelta(seconds=delivery.stall_seconds)
    to_dispatch: list[int] = []
    with sessions.begin() as session:
        for digest in digests.in_status(session, DigestStatus.SENDING):
            if digests.finish_if_done(session, digest.id):
                continue
            last = digests.last_activity(session, digest)
            if last is None or last < stalled_before:
                to_dispatch.append(digest.id)
        for digest in digests.in_status(session, DigestStatus.QUEUED):
            due = digest.scheduled_at or digest.created_at
            if due < stalled_before:  # its after-commit publish was lost
                to_dispatch.append(digest.id)
    _resync_halt_flags(sessions)
    for digest_id in to_dispatch:
        _note(sessions, digest_id, "no progress for a while: pending messages dispatched again")
        send_digest.delay(digest_id)
    return {**settled, "redispatched": len(to_dispatch)}


def _resync_halt_flags(sessions: sessionmaker[Session]) -> None:
    """The halt flag follows the database: a flag lost with Redis, or left behind by a
    pause and a resume racing, is put right within one sweep."""
    client = current_redis()
    with sessions.begin() as session:
        for digest in digests.in_status(session, DigestStatus.PAUSED):
            halt(client, digest.id)
        for digest in digests.in_status(session, DigestStatus.SENDING):
            unhalt(client, digest.id)


@app.task(name="worker.tasks.queue_scheduled_digests")
def queue_scheduled_digests() -> list[int]:
    """Queue each newsletter whose cron slot has come (run by beat)."""
    settings = get_settings()
    queued = queue_scheduled(_sessions(), settings, now=utcnow())
    for digest_id in queued:
        send_digest.delay(digest_id)
    return queued


@app.task(name="worker.tasks.dispatch_social_posts")
def dispatch_social_posts() -> int:
    """Hand the posts whose time has come to the publish queue (run by beat every second)."""
    queued = social.dispatch_due(_sessions(), current_redis())
    for post_id in queued:
        publish_social_post.delay(post_id)
    return len(queued)


@app.task(name="worker.tasks.publish_social_post")
def publish_social_post(post_id: int) -> str | None:
    """Publish one post; never retried by Celery: the outcome decides (see social.publish)."""
    status = social.publish_post(_sessions(), get_settings(), current_redis(), post_id)
    return status.value if status else None


@app.task(name="worker.tasks.sweep_social_posts")
def sweep_social_posts() -> dict[str, int]:
    """Settle lost claims, re-send lost publish messages, rebuild the schedule (beat)."""
    report = social.sweep(_sessions(), get_settings(), current_redis())
    for post_id in report.republish:
        log.warning("post %s: queued but never claimed; sending it again", post_id)
        publish_social_post.delay(post_id)
    return {
        "unconfirmed": len(report.unconfirmed),
        "republished": len(report.republish),
        "scheduled": report.scheduled,
    }


@app.task(bind=True, name="worker.tasks.send_confirmations", max_retries=8)
def send_confirmations(self: Task, subscriber_ids: list[int], newsletter_ids: list[int]) -> int:
    """Email the double opt-in links of a batch over one connection; the addresses whose
    server said "later" are tried again, alone, with backoff. Returns how many were sent."""
    settings = get_settings()
    sent, deferred = send_confirmation_batch(
        _sessions(), settings, backend_for(settings), subscriber_ids, newsletter_ids
    )
    if deferred and self.request.retries < self.max_retries:
        raise self.retry(args=[deferred, newsletter_ids], countdown=backoff(self.request.retries))
    if deferred:
        log.error("confirmation emails given up after retries for %s subscribers", len(deferred))
    return sent
