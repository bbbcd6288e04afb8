"""Queries on subscribers, their subscriptions and consents, and the suppression list.

The suppression list is matched on ``address_hash(email)``, never on the address: rows for
erased people keep only the hash. A row with no newsletter suppresses every newsletter.
Bulk functions (``*_by_email``, ``insert_*``) serve the CSV import: a few statements per
thousand lines, never a round trip per line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from worker.store._models import (
    Consent,
    ConsentSource,
    Delivery,
    Digest,
    Newsletter,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
    utcnow,
)


def get(session: Session, subscriber_id: int) -> Subscriber | None:
    return session.get(Subscriber, subscriber_id)


def get_by_email(session: Session, email: str) -> Subscriber | None:
    return session.scalar(select(Subscriber).where(Subscriber.email == email))


def get_by_hash(session: Session, email_hash: str) -> Subscriber | None:
    return session.scalar(select(Subscriber).where(Subscriber.email_hash == email_hash).limit(1))


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


def subscriptions_of(session: Session, subscriber_id: int) -> dict[int, Subscription]:
    """The subscriber's subscriptions by newsletter id."""
    rows = session.scalars(select(Subscription).where(Subscription.subscriber_id == subscriber_id))
    return {row.newsletter_id: row for row in rows}


def add_subscription(
    session: Session, subscriber_id: int, newsletter_id: int, status: SubscriptionStatus
) -> Subscription:
    row = Subscription(subscriber_id=subscriber_id, newsletter_id=newsletter_id, status=status)
    session.add(row)
    session.flush()
    return row


def add_consent(
    session: Session,
    subscriber_id: int,
    newsletter_id: int,
    *,
    source: ConsentSource,
    detail: str = "",
    ip: str | None = None,
    text_version: str = "",
    confirmed_at: datetime | None = None,
) -> None:
    session.add(
        Consent(
            subscriber_id=subscriber_id,
            newsletter_id=newsletter_id,
            source=source,
            detail=detail,
            ip=ip,
            text_version=text_version,
            confirmed_at=confirmed_at,
        )
    )


def confirm_consents(
    session: Session, subscriber_id: int, newsletter_ids: Sequence[int], when: datetime
) -> None:
    """Mark the consents still awaiting their email confirmation as confirmed."""
    session.execute(
        update(Consent)
        .where(
            Consent.subscriber_id == subscriber_id,
            Consent.newsletter_id.in_(newsletter_ids),
            Consent.confirmed_at.is_(None),
        )
        .values(confirmed_at=when)
    )


def mark_bounced(session: Session | Connection, subscriber_id: int, newsletter_id: int) -> None:
    """A hard bounce: the subscription is marked, and the address goes on the suppression
    list for every newsletter, since the mailbox does not exist whichever list mails it."""
    session.execute(
        update(Subscription)
        .where(
            Subscription.subscriber_id == subscriber_id,
            Subscription.newsletter_id == newsletter_id,
        )
        .values(status=SubscriptionStatus.BOUNCED, updated_at=utcnow())
    )
    email_hash = session.execute(
        select(Subscriber.email_hash).where(Subscriber.id == subscriber_id)
    ).scalar()
    if email_hash is not None:
        suppress(session, email_hash, SuppressionReason.BOUNCED, None)


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


def listing(
    session: Session,
    *,
    newsletter_id: int | None = None,
    status: SubscriptionStatus | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Iterator[Row[Any]]:
    """Subscriptions with their subscriber and newsletter (email, name, language, newsletter,
    status, subscribed_at), oldest first, streamed so an export never holds the list whole."""
    query = (
        select(
            Subscriber.email,
            Subscriber.name,
            Subscriber.language,
            Newsletter.slug.label("newsletter"),
            Subscription.status,
            Subscription.created_at.label("subscribed_at"),
        )
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .join(Newsletter, Newsletter.id == Subscription.newsletter_id)
        .order_by(Subscription.id)
        .limit(limit)
        .offset(offset)
    )
    if newsletter_id is not None:
        query = query.where(Subscription.newsletter_id == newsletter_id)
    if status is not None:
        query = query.where(Subscription.status == status)
    yield from session.execute(query.execution_options(yield_per=1000))


# --- the suppression list ------------------------------------------------------------------


def _applies_to(newsletter_id: int | None) -> ColumnElement[bool]:
    """Rows that suppress ``newsletter_id``: its own and the ones for every newsletter."""
    if newsletter_id is None:
        return Suppression.newsletter_id.is_(None)
    return or_(Suppression.newsletter_id.is_(None), Suppression.newsletter_id == newsletter_id)


def suppression_reasons(
    session: Session, email_hash: str, newsletter_id: int | None
) -> set[SuppressionReason]:
    """Why the address may not receive ``newsletter_id`` (None: every newsletter)."""
    rows = session.scalars(
        select(Suppression.reason).where(
            Suppression.email_hash == email_hash, _applies_to(newsletter_id)
        )
    )
    return {SuppressionReason(reason) for reason in rows}


def suppress(
    session: Session | Connection,
    email_hash: str,
    reason: SuppressionReason,
    newsletter_id: int | None,
) -> None:
    """Add a suppression unless the same one is there already (calls repeat: a redelivered
    bounce, a second click on an unsubscribe link)."""
    same_newsletter = (
        Suppression.newsletter_id.is_(None)
        if newsletter_id is None
        else Suppression.newsletter_id == newsletter_id
    )
    found = session.execute(
        select(Suppression.id)
        .where(Suppression.email_hash == email_hash, Suppression.reason == reason, same_newsletter)
        .limit(1)
    ).first()
    if found is None:
        session.execute(
            insert(Suppression).values(
                email_hash=email_hash, newsletter_id=newsletter_id, reason=reason
            )
        )


def lift_unsubscribed(session: Session, email_hash: str, newsletter_ids: Iterable[int]) -> None:
    """The person asked again for ``newsletter_ids`` and proved it from their mailbox: their
    unsubscriptions from those go. An unsubscription from everything becomes one row per
    other newsletter, so it still holds for the rest."""
    chosen = set(newsletter_ids)
    session.execute(
        delete(Suppression).where(
            Suppression.email_hash == email_hash,
            Suppression.reason == SuppressionReason.UNSUBSCRIBED,
            Suppression.newsletter_id.in_(chosen),
        )
    )
    from_all = delete(Suppression).where(
        Suppression.email_hash == email_hash,
        Suppression.reason == SuppressionReason.UNSUBSCRIBED,
        Suppression.newsletter_id.is_(None),
    )
    if session.execute(from_all).rowcount:
        others = session.scalars(select(Newsletter.id).where(Newsletter.id.not_in(chosen)))
        for newsletter_id in others:
            suppress(session, email_hash, SuppressionReason.UNSUBSCRIBED, newsletter_id)


def suppressions_of(session: Session, email_hash: str) -> list[tuple[Suppression, str | None]]:
    """Every suppression of the address, with its newsletter's slug (None: all)."""
    rows = session.execute(
        select(Suppression, Newsletter.slug)
        .outerjoin(Newsletter, Newsletter.id == Suppression.newsletter_id)
        .where(Suppression.email_hash == email_hash)
        .order_by(Suppression.id)
    )
    return [(suppression, slug) for suppression, slug in rows]


# --- what is held on one person --------------------------------------------------------------


def with_slugs(
    session: Session, model: type[Subscription | Consent | Delivery], subscriber_id: int
) -> list[tuple[Any, str]]:
    """The subscriber's subscriptions, consents or deliveries, oldest first, each with its
    newsletter's slug (a delivery's through its digest)."""
    query = select(model, Newsletter.slug)
    if model is Delivery:
        query = query.join(Digest, Digest.id == Delivery.digest_id)
        query = query.join(Newsletter, Newsletter.id == Digest.newsletter_id)
    else:
        query = query.join(Newsletter, Newsletter.id == model.newsletter_id)
    rows = session.execute(query.where(model.subscriber_id == subscriber_id).order_by(model.id))
    return [(row, slug) for row, slug in rows]


def erase(session: Session, subscriber_id: int) -> None:
    """Delete the subscriber; the database cascades to subscriptions, consents and
    deliveries (SQLite enforces foreign keys on every connection, see _db.py)."""
    session.execute(delete(Subscriber).where(Subscriber.id == subscriber_id))
    session.expire_all()


# --- the CSV import, in bulk -----------------------------------------------------------------


def ids_by_email(session: Session, emails: Sequence[str]) -> dict[str, int]:
    rows = session.execute(
        select(Subscriber.email, Subscriber.id).where(Subscriber.email.in_(emails))
    )
    return dict(rows.all())


def statuses(
    session: Session, newsletter_id: int, subscriber_ids: Sequence[int]
) -> dict[int, SubscriptionStatus]:
    rows = session.execute(
        select(Subscription.subscriber_id, Subscription.status).where(
            Subscription.newsletter_id == newsletter_id,
            Subscription.subscriber_id.in_(subscriber_ids),
        )
    )
    return {subscriber_id: SubscriptionStatus(status) for subscriber_id, status in rows}


def suppressed_hashes(session: Session, hashes: Sequence[str], newsletter_id: int) -> set[str]:
    """Of ``hashes``, those suppressed for the newsletter, whatever the reason."""
    return set(
        session.scalars(
            select(Suppression.email_hash)
            .where(Suppression.email_hash.in_(hashes), _applies_to(newsletter_id))
            .distinct()
        )
    )


def insert_subscribers(session: Session, rows: Sequence[dict[str, str]]) -> dict[str, int]:
    """Insert (email, email_hash, name, language) rows; returns their ids by email."""
    if not rows:
        return {}
    table = Subscriber.__table__
    inserted = session.execute(
        insert(table).values(created_at=utcnow()).returning(table.c.email, table.c.id), rows
    )
    return dict(inserted.all())


def insert_subscriptions(
    session: Session,
    newsletter_id: int,
    subscriber_ids: Sequence[int],
    status: SubscriptionStatus,
    *,
    consent: dict[str, object],
) -> None:
    """One subscription and its consent record per subscriber, two statements in all; the
    consent is confirmed when the subscription is."""
    if not subscriber_ids:
        return
    now = utcnow()
    confirmed_at = now if status is SubscriptionStatus.CONFIRMED else None
    session.execute(
        insert(Subscription.__table__).values(
            newsletter_id=newsletter_id, status=status.value, created_at=now, updated_at=now
        ),
        [{"subscriber_id": subscriber_id} for subscriber_id in subscriber_ids],
    )
    session.execute(
        insert(Consent.__table__).values(
            newsletter_id=newsletter_id, created_at=now, confirmed_at=confirmed_at, **consent
        ),
        [{"subscriber_id": subscriber_id} for subscriber_id in subscriber_ids],
    )
