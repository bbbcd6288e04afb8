"""Publishing a post once, and the two beat jobs around it: the dispatcher and the sweeper.

A post is published only by the worker that moved it from queued to publishing, and that
move is committed before the platform is called. Whatever happens next is recorded from
the platform's answer, classified by the client: a rate limit waits for its reset, an
expired token holds the account, a refusal fails the post, and an answer that never came
leaves it unconfirmed, because the platform may have posted it and a second post is worse
than a missing one. A worker that dies mid-call leaves the post publishing; the sweeper
turns it unconfirmed once the claim is older than ``publishing_stale_seconds``, which must
exceed a publish's longest run (the clients' timeouts: about 35 s, 80 s for LinkedIn with
a thumbnail). An answer arriving after that is still recorded, since it is the truth.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis
from sqlalchemy.orm import Session, sessionmaker

from worker.settings import Settings, SocialAccountConfig
from worker.social._plan import LOOKBACK
from worker.social._schedule import schedule, take_due
from worker.social._slots import NoFreeSlot, next_free_time
from worker.social.clients import (
    AuthExpired,
    NotSent,
    OutgoingPost,
    Published,
    Publisher,
    PublishError,
    RateLimited,
    Unconfirmed,
    publisher_for,
)
from worker.store import SocialAccountStatus, SocialPost, SocialPostStatus, on_commit, utcnow
from worker.store import social as posts

log = logging.getLogger(__name__)

# A request that never reached the platform is tried again this many times, with backoff.
MAX_ATTEMPTS = 5
# A queued post not claimed after this long lost its publish message: send it again.
QUEUED_GRACE = timedelta(seconds=60)


def not_sent_backoff(attempts: int) -> timedelta:
    """30 s, 60 s, 120 s ... between tries of a request that never left."""
    return timedelta(seconds=30 * 2 ** max(0, attempts - 1))


def publish_post(
    sessions: sessionmaker[Session],
    settings: Settings,
    client: redis.Redis,
    post_id: int,
    *,
    publishers: Callable[[Settings, str], Publisher] = publisher_for,
) -> SocialPostStatus | None:
    """Publish one queued post and record the outcome; None when it was not ours to publish
    (already claimed, cancelled or published: a redelivered task lands here)."""
    with sessions.begin() as session:
        post = posts.claim(session, post_id, utcnow())
        if post is None:
            return None
        claimed_at, account = post.claimed_at, post.account.name
        outgoing = OutgoingPost(
            post_id=post.id,
            account=account,
            text=post.text,
            link=post.link,
            title=post.article.title,
            description=post.article.summary,
            image_url=post.article.image_url,
        )
    config = settings.file.social.accounts.get(account)
    try:
        if config is None:
            raise LookupError(f"account {account!r} is no longer in the configuration")
        publisher = publishers(settings, account)
    except Exception as exc:  # nothing was sent: a configuration problem, not worth retrying
        log.exception("post %s: cannot publish on %s", post_id, account)
        return _record(sessions, client, config, post_id, claimed_at, _Unpublishable(str(exc)))
    log.info("post %s: publishing on %s", post_id, account)
    outcome: Published | Exception
    try:
        outcome = publisher.publish(outgoing)
    except PublishError as exc:
        outcome = exc
    except Exception as exc:  # a bug or a time limit mid-call: the platform may have posted
        log.exception("post %s: unexpected error while publishing", post_id)
        outcome = exc
    finally:
        publisher.close()
    return _record(sessions, client, config, post_id, claimed_at, outcome)


class _Unpublishable(PublishError):
    kind = "config"


def _record(
    sessions: sessionmaker[Session],
    client: redis.Redis,
    config: SocialAccountConfig | None,
    post_id: int,
    claimed_at: datetime | None,
    outcome: Published | Exception,
) -> SocialPostStatus | None:
    """Write the outcome, unless the claim is no longer ours. A late answer after the
    sweeper settled the claim as unconfirmed is still the truth, and is recorded."""
    with sessions.begin() as session:
        post = posts.lock_post(session, post_id)
        ours = (SocialPostStatus.PUBLISHING, SocialPostStatus.UNCONFIRMED)
        if post is None or post.claimed_at != claimed_at or post.status not in ours:
            log.error(
                "post %s: the claim was taken over while publishing; outcome not recorded: %s",
                post_id,
                outcome,
            )
            return None
        if isinstance(outcome, Published):
            post.status = SocialPostStatus.PUBLISHED
            post.published_at = utcnow()
            post.platform_post_id = outcome.platform_post_id
            post.permalink = outcome.permalink
            post.error_kind = post.error = ""
            log.info("post %s: published as %s", post_id, outcome.platform_post_id)
        else:
            _record_failure(session, client, config, post, outcome)
        return post.status


def _record_failure(
    session: Session,
    client: redis.Redis,
    config: SocialAccountConfig | None,
    post: SocialPost,
    error: Exception,
) -> None:
    now = utcnow()
    kind = getattr(error, "kind", "unconfirmed")
    message = str(error) if isinstance(error, PublishError) else f"{type(error).__name__}"
    post.error_kind, post.error = kind, message
    post.account.last_error = f"{now:%Y-%m-%d %H:%M} UTC post {post.id}: {kind}: {message}"
    if isinstance(error, NotSent):
        post.attempts += 1
    retry_after: datetime | None = None
    if isinstance(error, RateLimited):
        retry_after = max(error.retry_at, now)
    elif isinstance(error, NotSent) and post.attempts < MAX_ATTEMPTS:
        retry_after = now + not_sent_backoff(post.attempts)
    if retry_after is not None and config is not None:
        _retry(session, client, config, post, retry_after)
    elif isinstance(error, AuthExpired):
        # held, not failed: it goes out once the account is authorized again
        post.status = SocialPostStatus.PLANNED
        post.account.status = SocialAccountStatus.NEEDS_REAUTH
    elif isinstance(error, Unconfirmed) or not isinstance(error, PublishError):
        post.status = SocialPostStatus.UNCONFIRMED
    else:
        post.status = SocialPostStatus.FAILED
    log.warning("post %s: %s (%s): %s", post.id, post.status.value, kind, message)


def _retry(
    session: Session,
    client: redis.Redis,
    config: SocialAccountConfig,
    post: SocialPost,
    earliest: datetime,
) -> None:
    """Plan the post again, no earlier than ``earliest``, within the account's rules (a
    retry never lands in a blackout, nor on top of the account's other posts)."""
    post.scheduled_at = None  # its own old time does not count against it
    session.flush()
    taken = posts.taken_times(session, post.account_id, earliest - LOOKBACK)
    try:
        at = next_free_time(config, taken, earliest)
    except NoFreeSlot as exc:
        post.status, post.error = SocialPostStatus.FAILED, f"{post.error}; {exc}"
        return
    post.status, post.scheduled_at = SocialPostStatus.PLANNED, at
    on_commit(session, lambda: schedule(client, [(post.id, at)]))


def dispatch_due(
    sessions: sessionmaker[Session], client: redis.Redis, now: datetime | None = None
) -> list[int]:
    """Take the due posts off the schedule and mark them queued; returns the ids to publish.
    Ids taken but not moved (cancelled, held, rescheduled later) are simply dropped: the
    database still has them and the sweeper puts planned ones back."""
    now = now or utcnow()
    due = take_due(client, now)
    if not due:
        return []
    with sessions.begin() as session:
        return posts.mark_queued(session, due, now)


@dataclass
class SweepReport:
    unconfirmed: list[int] = field(default_factory=list)
    republish: list[int] = field(default_factory=list)
    scheduled: int = 0


def sweep(
    sessions: sessionmaker[Session],
    settings: Settings,
    client: redis.Redis,
    now: datetime | None = None,
) -> SweepReport:
    """Settle lost claims, find queued posts whose message was lost, and rebuild the
    schedule from the database (after a Redis restart, or a dispatcher that died between
    taking ids and queueing them)."""
    now = now or utcnow()
    stale = timedelta(seconds=settings.file.social.publishing_stale_seconds)
    report = SweepReport()
    with sessions.begin() as session:
        report.unconfirmed = posts.settle_lost_claims(session, now - stale, now)
        report.republish = posts.requeue_stuck(session, now - QUEUED_GRACE, now)
        planned = posts.planned_times(session)
    schedule(client, planned)
    report.scheduled = len(planned)
    for post_id in report.unconfirmed:
        log.warning("post %s: unconfirmed (its worker stopped while publishing)", post_id)
    return report
