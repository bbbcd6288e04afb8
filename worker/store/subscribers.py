"""Queries on subscribers and their subscriptions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.store._models import Newsletter, Subscriber, Subscription, SubscriptionStatus


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
