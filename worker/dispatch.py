"""Work that is written to the database and then handed to Celery, in that order.

Every caller (CLI, web, demo) goes through here, so no code path publishes a task before
the commit that created its rows, and tasks are published by name (no import of
``worker.tasks`` outside the workers).
"""

from __future__ import annotations

from datetime import datetime

from worker.celery_app import app
from worker.digests import prepare_digest
from worker.settings import Settings
from worker.store import on_commit, session_factory


def announce_article(event_id: int) -> None:
    """Publish an ``article.published`` event (called after the import's commit)."""
    app.send_task("worker.tasks.article_published", args=[event_id])


def queue_digest(settings: Settings, slug: str, *, now: datetime | None = None) -> tuple[int, int]:
    """Prepare the next digest of ``slug`` and start sending it once it is committed.

    Returns the digest id and its number of recipients; raises NothingToSend when there is
    no article for it.
    """
    with session_factory(settings.database_url).begin() as session:
        digest, recipients = prepare_digest(
            session,
            slug,
            settings.file.newsletters[slug],
            now=now or datetime.now().astimezone(),
            timezone=settings.file.site.timezone,
        )
        digest_id = digest.id
        on_commit(session, lambda: app.send_task("worker.tasks.send_digest", args=[digest_id]))
    return digest_id, recipients
