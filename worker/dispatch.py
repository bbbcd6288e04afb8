"""Work that is written to the database and then handed to Celery, in that order.

Every caller (CLI, web, demo, beat) goes through here, so no code path publishes a task
before the commit that created its rows, and tasks are published by name (no import of
``worker.tasks`` outside the workers).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from worker import social
from worker.celery_app import app, current_redis
from worker.delivery import halt, unhalt
from worker.digests import prepare_digest
from worker.settings import Settings
from worker.store import (
    Article,
    Digest,
    SocialAccountStatus,
    SocialPost,
    digests,
    on_commit,
    session_factory,
    utcnow,
)
from worker.store import social as social_posts
from worker.subscribers import ImportOutcome, Row, import_rows

# Confirmation emails per task: one SMTP connection each, few enough to finish well
# inside a task's time limit at a modest provider rate.
CONFIRMATION_BATCH = 500


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


def plan_social_posts(session: Session, settings: Settings, article: Article) -> list[SocialPost]:
    """Plan the article's posts; they enter the Redis schedule once the plan is committed."""
    planned = social.plan_posts(session, settings.file.social, article, utcnow())
    _schedule_after_commit(session, planned)
    return planned


def _schedule_after_commit(session: Session, planned: list[SocialPost]) -> None:
    due = [
        (post.id, post.scheduled_at)
        for post in planned
        if post.scheduled_at is not None and post.account.status is SocialAccountStatus.ACTIVE
    ]
    if due:
        on_commit(session, lambda: social.schedule(current_redis(), due))


class PostNotFound(LookupError):
    pass


def change_post(
    settings: Settings,
    post_id: int,
    action: str,
    *,
    text: str | None = None,
    at: datetime | None = None,
) -> SocialPost:
    """Edit, reschedule, cancel or publish a post now, then bring the Redis schedule and the
    publish queue in line once committed. Raises PostChangeRefused when the post's status
    does not allow it (a published post cannot be edited, say) and TextTooLong."""
    with session_factory(settings.database_url).begin() as session:
        post = social_posts.lock_post(session, post_id)
        if post is None:
            raise PostNotFound(f"no post {post_id}")
        if action == "edit":
            assert text is not None
            social.edit(post, text)
        elif action == "reschedule":
            assert at is not None
            social.reschedule(post, at)
            _schedule_after_commit(session, [post])
        elif action == "cancel":
            social.cancel(post)
            on_commit(session, lambda: social.unschedule(current_redis(), [post_id]))
        elif action == "publish-now":
            social.publish_now(post, utcnow())
            on_commit(session, lambda: social.unschedule(current_redis(), [post_id]))
            on_commit(session, lambda: _publish(post_id))
        else:
            raise ValueError(f"unknown action {action!r}")
        session.flush()
        _ = post.account  # loaded, for the caller to read after the commit
        session.expunge(post)
        return post


def _publish(post_id: int) -> None:
    app.send_task("worker.tasks.publish_social_post", args=[post_id])


def reactivate_account(
    settings: Settings, name: str, token_expires_at: datetime | None = None
) -> list[SocialPost]:
    """Mark an account authorized again (after its token was renewed) and give the posts it
    held new times, spaced by its rules. Returns those posts."""
    config = settings.file.social.accounts.get(name)
    if config is None:
        raise LookupError(f"no social account {name!r} in {settings.config_file}")
    with session_factory(settings.database_url).begin() as session:
        account = social_posts.sync_accounts(session, {name: config})[name]
        account.status = SocialAccountStatus.ACTIVE
        account.last_error = ""
        account.token_expires_at = token_expires_at
        replanned = social.replan_held(session, account, config, utcnow())
        _schedule_after_commit(session, replanned)
        return replanned


def request_confirmation(
    session: Session, subscriber_ids: list[int], newsletter_ids: list[int]
) -> None:
    """Send the double opt-in emails once the request (the subscription rows and their
    consent) is committed, CONFIRMATION_BATCH addresses per task over one connection;
    nothing is sent if it rolls back."""
    ids = list(newsletter_ids)
    batches = [
        subscriber_ids[start : start + CONFIRMATION_BATCH]
        for start in range(0, len(subscriber_ids), CONFIRMATION_BATCH)
    ]

    def publish() -> None:
        for batch in batches:
            app.send_task("worker.tasks.send_confirmations", args=[batch, ids])

    on_commit(session, publish)


def subscribe_rows(
    session: Session, rows: list[Row], newsletter_id: int, *, confirmed: bool, detail: str
) -> ImportOutcome:
    """Import ``rows`` into the newsletter (see import_rows); without ``confirmed``, each
    new subscription is pending and its confirmation email goes once this is committed."""
    outcome = import_rows(session, rows, newsletter_id, confirmed=confirmed, detail=detail)
    if not confirmed and outcome.imported:
        request_confirmation(session, outcome.imported, [newsletter_id])
    return outcome
