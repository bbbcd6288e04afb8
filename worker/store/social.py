"""Queries on social accounts and posts. A worker's status changes are conditional updates
and an editor's changes hold the post's row lock, so two workers, or a worker and an
editor, racing on one post cannot both win."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

from worker.settings import SocialAccountConfig
from worker.store._models import (
    Article,
    SocialAccount,
    SocialAccountStatus,
    SocialPost,
    SocialPostStatus,
)

# Posts that hold their time: the spacing and the daily cap count them.
HOLDING_TIME = (
    SocialPostStatus.PLANNED,
    SocialPostStatus.QUEUED,
    SocialPostStatus.PUBLISHING,
    SocialPostStatus.PUBLISHED,
    SocialPostStatus.UNCONFIRMED,
)
UPCOMING = (SocialPostStatus.PLANNED, SocialPostStatus.QUEUED, SocialPostStatus.PUBLISHING)


def sync_accounts(
    session: Session, configured: Mapping[str, SocialAccountConfig]
) -> dict[str, SocialAccount]:
    """A row per configured account (created on first sight), by name."""
    existing = {a.name: a for a in session.scalars(select(SocialAccount))}
    for name, config in configured.items():
        row = existing.get(name)
        if row is None:
            row = existing[name] = SocialAccount(name=name, platform=config.platform)
            session.add(row)
        row.platform = config.platform
    session.flush()
    return {name: existing[name] for name in configured}


def lock_accounts(session: Session, account_ids: Sequence[int]) -> None:
    """Hold the accounts' rows until the transaction ends (PostgreSQL; SQLite serializes)."""
    session.execute(
        select(SocialAccount.id).where(SocialAccount.id.in_(account_ids)).with_for_update()
    )


def get_post(session: Session, post_id: int) -> SocialPost | None:
    return session.get(SocialPost, post_id, options=[joinedload(SocialPost.account)])


def lock_post(session: Session, post_id: int) -> SocialPost | None:
    """The post, read fresh and locked until the transaction ends: a worker's claim waits
    for the editor's change and then sees it (PostgreSQL; SQLite serializes writers)."""
    return session.get(SocialPost, post_id, with_for_update=True, populate_existing=True)


def post_for(session: Session, account_id: int, article_id: int) -> SocialPost | None:
    return session.scalar(
        select(SocialPost).where(
            SocialPost.account_id == account_id, SocialPost.article_id == article_id
        )
    )


def taken_times(session: Session, account_id: int, since: datetime) -> list[datetime]:
    """The times of the account's posts from ``since`` on that count against its rules."""
    return list(
        session.scalars(
            select(SocialPost.scheduled_at).where(
                SocialPost.account_id == account_id,
                SocialPost.status.in_(HOLDING_TIME),
                SocialPost.scheduled_at >= since,
            )
        )
    )


def add_post(
    session: Session, account: SocialAccount, article: Article, text: str, link: str, at: datetime
) -> SocialPost:
    post = SocialPost(
        account=account, article=article, text=text, link=link, scheduled_at=at, attempts=0
    )
    session.add(post)
    session.flush()
    return post


def mark_queued(session: Session, post_ids: Sequence[int], now: datetime) -> list[int]:
    """planned -> queued for the ids that are due and whose account may publish."""
    if not post_ids:
        return []
    active = select(SocialAccount.id).where(SocialAccount.status == SocialAccountStatus.ACTIVE)
    return list(
        session.scalars(
            update(SocialPost)
            .where(
                SocialPost.id.in_(post_ids),
                SocialPost.status == SocialPostStatus.PLANNED,
                SocialPost.scheduled_at <= now,
                SocialPost.account_id.in_(active),
            )
            .values(status=SocialPostStatus.QUEUED, updated_at=now)
            .returning(SocialPost.id)
        )
    )


def claim(session: Session, post_id: int, now: datetime) -> SocialPost | None:
    """queued -> publishing: the one step that lets a worker call the platform."""
    claimed = session.scalar(
        update(SocialPost)
        .where(SocialPost.id == post_id, SocialPost.status == SocialPostStatus.QUEUED)
        .values(status=SocialPostStatus.PUBLISHING, claimed_at=now, updated_at=now)
        .returning(SocialPost.id)
    )
    if claimed is None:
        return None
    post = get_post(session, post_id)
    assert post is not None
    session.refresh(post)
    return post


def settle_lost_claims(session: Session, claimed_before: datetime, now: datetime) -> list[int]:
    """publishing -> unconfirmed for claims too old to be in progress: their worker died,
    perhaps after the platform accepted the post, so it is never re-posted by itself."""
    return list(
        session.scalars(
            update(SocialPost)
            .where(
                SocialPost.status == SocialPostStatus.PUBLISHING,
                SocialPost.claimed_at < claimed_before,
            )
            .values(
                status=SocialPostStatus.UNCONFIRMED,
                error_kind="unconfirmed",
                error="the worker stopped while publishing; check the account before re-posting",
                updated_at=now,
            )
            .returning(SocialPost.id)
        )
    )


def requeue_stuck(session: Session, queued_before: datetime, now: datetime) -> list[int]:
    """Posts queued this long ago and never claimed, whose publish message may be lost:
    stamped now, so the next sweep waits as long again before sending them once more."""
    return list(
        session.scalars(
            update(SocialPost)
            .where(
                SocialPost.status == SocialPostStatus.QUEUED,
                SocialPost.updated_at < queued_before,
            )
            .values(updated_at=now)
            .returning(SocialPost.id)
        )
    )


def planned_times(session: Session) -> list[tuple[int, datetime]]:
    """Every planned post of an account that may publish, with its time: the schedule."""
    rows = session.execute(
        select(SocialPost.id, SocialPost.scheduled_at)
        .join(SocialAccount)
        .where(
            SocialPost.status == SocialPostStatus.PLANNED,
            SocialAccount.status == SocialAccountStatus.ACTIVE,
        )
    )
    return [(post_id, at) for post_id, at in rows if at is not None]


def held_posts(session: Session, account_id: int) -> list[SocialPost]:
    return list(
        session.scalars(
            select(SocialPost)
            .where(
                SocialPost.account_id == account_id,
                SocialPost.status == SocialPostStatus.PLANNED,
            )
            .order_by(SocialPost.scheduled_at, SocialPost.id)
        )
    )


def posts_between(
    session: Session, account: str, start: datetime, end: datetime
) -> list[SocialPost]:
    """The account's posts timed in [start, end) that are out or on their way."""
    return list(
        session.scalars(
            select(SocialPost)
            .join(SocialAccount)
            .where(
                SocialAccount.name == account,
                SocialPost.status.in_(HOLDING_TIME),
                SocialPost.scheduled_at >= start,
                SocialPost.scheduled_at < end,
            )
        )
    )


def upcoming(session: Session, account: str | None = None) -> list[SocialPost]:
    query = (
        select(SocialPost)
        .join(SocialAccount)
        .options(joinedload(SocialPost.account), joinedload(SocialPost.article))
        .where(SocialPost.status.in_(UPCOMING))
        .order_by(SocialPost.scheduled_at, SocialPost.id)
    )
    if account is not None:
        query = query.where(SocialAccount.name == account)
    return list(session.scalars(query))


def posts_of_article(session: Session, article_id: int) -> list[SocialPost]:
    return list(
        session.scalars(
            select(SocialPost)
            .options(joinedload(SocialPost.account))
            .where(SocialPost.article_id == article_id)
            .order_by(SocialPost.id)
        )
    )


def accounts(session: Session) -> list[tuple[SocialAccount, dict[SocialPostStatus, int]]]:
    """Each account with its number of posts per status."""
    counts: dict[int, dict[SocialPostStatus, int]] = {}
    for account_id, status, count in session.execute(
        select(SocialPost.account_id, SocialPost.status, func.count()).group_by(
            SocialPost.account_id, SocialPost.status
        )
    ):
        counts.setdefault(account_id, {})[status] = count
    rows = session.scalars(select(SocialAccount).order_by(SocialAccount.name))
    return [(row, counts.get(row.id, {})) for row in rows]
