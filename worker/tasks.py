"""Celery tasks: thin wrappers that load by id, call a plain function and record the outcome.

Arguments are ids and plain JSON values. Retries are only for failures that can pass
(a server answering 4xx, a dropped connection); everything else is recorded and left alone.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import Task
from sqlalchemy.orm import Session, sessionmaker

from worker import articles
from worker.celery_app import app
from worker.delivery import TemporaryDeliveryError, backend_for, send_batch
from worker.settings import get_settings
from worker.store import DigestStatus, digests, session_factory, utcnow
from worker.store import articles as article_store

log = logging.getLogger(__name__)

BATCH_SIZE = 500
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
    with _sessions().begin() as session:
        event = article_store.get_event(session, event_id)
        if event is None or event.handled_at is not None:
            return
        articles.on_published(session, event.article)
        event.handled_at = utcnow()


@app.task(name="worker.tasks.redispatch_article_events")
def redispatch_article_events() -> int:
    with _sessions().begin() as session:
        lost = [e.id for e in article_store.unhandled_events(session, older_than=EVENT_GRACE)]
    for event_id in lost:
        article_published.delay(event_id)
    return len(lost)


@app.task(name="worker.tasks.send_digest")
def send_digest(digest_id: int) -> None:
    """Start a digest and fan its pending deliveries out in batches."""
    sessions = _sessions()
    with sessions.begin() as session:
        digest = digests.get(session, digest_id)
        if digest is None:
            return
        if digest.status is DigestStatus.QUEUED:
            digests.set_status(session, digest, DigestStatus.SENDING)
        if digest.status is not DigestStatus.SENDING:
            return
    # SENDING is committed before any batch is published: a batch that starts at once must
    # find the digest sending, or it would skip its rows.
    with sessions.begin() as session:
        for batch in digests.pending_batches(session, digest_id, BATCH_SIZE):
            send_digest_batch.delay(digest_id, batch)
        digest = digests.get(session, digest_id)
        assert digest is not None
        digests.finish_if_done(session, digest)


@app.task(bind=True, name="worker.tasks.send_digest_batch", max_retries=8)
def send_digest_batch(self: Task, digest_id: int, delivery_ids: list[int]) -> None:
    settings = get_settings()
    sessions = _sessions()
    try:
        outcome = send_batch(sessions, settings, backend_for(settings), digest_id, delivery_ids)
    except TemporaryDeliveryError as exc:
        if self.request.retries >= self.max_retries:
            with sessions.begin() as session:
                digests.fail_pending(session, delivery_ids, str(exc))
        else:
            raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
    else:
        log.info(
            "digest %s batch: %s sent, %s bounced, %s skipped",
            digest_id,
            outcome.sent,
            outcome.bounced,
            outcome.skipped,
        )
    with sessions.begin() as session:
        digest = digests.get(session, digest_id)
        if digest is not None:
            digests.finish_if_done(session, digest)
