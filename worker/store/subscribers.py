"""Queries on subscribers and their subscriptions."""

from __future__ import annotations

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from worker.store._models import (
    Newsletter,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    utcnow,
)


def get_by_email(session: Session, email: str) -> Subscriber | None:
    return session.scalar(select(Subscriber).where(Subscriber.email == email))


def get_or_create(
    session: Session, email: str, *, name: str = "", language: str = ""
) -> Subscriber:
    """The subscriber for an already normalized address, created if new."""
    subscriber = get_by_email(session, email)
    if subscriber is None:
        subscriber = Subscriber(email=email, name=name, language=language)
        session.add(subscriber)
        session.flush()
    return subscriber


def subscription(
    session: Session, subscriber: Subscriber, newsletter: Newsletter
) -> Subscription | None:
    return session.scalar(
        select(Subscription).where(
            Subscription.subscriber_id == subscriber.id,
            Subscription.newsletter_id == newsletter.id,
        )
    )


def subscribe(
    session: Session, subscriber: Subscriber, newsletter: Newsletter, status: SubscriptionStatus
) -> Subscription:
    """Subscribe, never reviving an address that left, bounced or complained."""
    existing = subscription(session, subscriber, newsletter)
    if existing is None:
        existing = Subscription(subscriber=subscriber, newsletter=newsletter, status=status)
        session.add(existing)
    elif existing.status is SubscriptionStatus.PENDING:
        existing.status = status
    session.flush()
    return existing


def mark_bounced(session: Session | Connection, subscriber_id: int, newsletter_id: int) -> None:
    """A hard bounce: no later digest of this newsletter goes to the address."""
    session.execute(
        update(Subscription)
        .where(
            Subscription.subscriber_id == subscriber_id,
            Subscription.newsletter_id == newsletter_id,
        )
        .values(status=SubscriptionStatus.BOUNCED, updated_at=utcnow())
    )


def counts_by_status(session: Session) -> dict[int, dict[SubscriptionStatus, int]]:
    """Subscriptions per newsletter id and status."""
    rows = session.execute(
        select(Subscription.newsletter_id, Subscription.status, func.count()).group_by(
            Subscription.newsletter_id, Subscription.status
        )
    )
    counts: dict[int, dict[SubscriptionStatus, int]] = {}
    for newsletter_id, status, count in rows:
        counts.setdefault(newsletter_id, dict.fromkeys(SubscriptionStatus, 0))[
            SubscriptionStatus(status)
        ] = count
    return counts
