"""Work that is written to the database and then handed to Celery, in that order.

Every caller (CLI, web, demo, beat) goes through here, so no code path publishes a task
before the commit that created its rows, and tasks are published by name (no import of
``worker.tasks`` outside the workers).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from worker.celery_app import app, current_redis
from worker.delivery import halt, unhalt
from worker.digests import prepare_digest
from worker.settings import Settings
from worker.store import Digest, digests, on_commit, session_factory, utcnow


class DigestNotFound(LookupError):
    pass


def announce_article(event_id: int) -> None:
    """Publish an ``article.published`` event (called after the import's commit)."""
    app.send_task("worker.tasks.article_published", args=[event_id])


def _start_after_commit(session: Session, digest_id: int) -> None:
    on_commit(session, lambda: app.send_task("worker.tasks.send_digest", args=[digest_id]))


def queue_digest(
    settings: Settings,
    slug: str,
    *,
    at: datetime | None = None,
    force: bool = False,
    now: datetime | None = None,
) -> tuple[int, int]:
    """Prepare the next digest of ``slug`` and start sending it once it is committed, or
    leave it for the scheduler when ``at`` is in the future.

    Returns the digest id and its number of recipients; raises NothingToSend when there is
    no new article and DigestTooLarge when Gmail would clip it (unless ``force``).
    """
    now = now or utcnow()
    with session_factory(settings.database_url).begin() as session:
        digest, recipients = prepare_digest(
            session,
            slug,
            settings.file.newsletters[slug],
            now=at or now,
            timezone=settings.file.site.timezone,
            scheduled_at=at,
            force=force,
        )
        if at is None or at <= now:
            _start_after_commit(session, digest.id)
        return digest.id, recipients


def change_digest(settings: Settings, digest_id: int, action: str) -> Digest:
    """Pause, resume or cancel a digest. A paused digest's batches stop before their next message;
    resuming dispatches the rows still pending, and only those, so nobody is sent twice or
    skipped. Returns the digest; raises ValueError when the action does not apply."""
    with session_factory(settings.database_url).begin() as session:
        digest = digests.get(session, digest_id)
        if digest is None:
            raise DigestNotFound(f"no digest {digest_id}")
        change = {"pause": digests.pause, "resume": digests.resume, "cancel": digests.cancel}
        if not change[action](session, digest):
            raise ValueError(f"digest {digest_id} is {digest.status.value}: cannot {action} it")
        if action == "resume":
            # lift the halt before the batches start, or they would stop at once
            on_commit(session, lambda: unhalt(current_redis(), digest_id))
            _start_after_commit(session, digest.id)
        else:
            on_commit(session, lambda: halt(current_redis(), digest_id))
        return digest
