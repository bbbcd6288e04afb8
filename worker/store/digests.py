"""Queries on digests and their delivery ledger.

The ledger has one row per (digest, subscriber), created in bulk inside the database when
the digest is queued; a worker claims a row (pending -> sending) in its own commit before
the send, so a redelivered task finds it taken and never sends twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.orm import Session

from worker.store._models import (
    Delivery,
    DeliveryStatus,
    Digest,
    DigestStatus,
    Newsletter,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    utcnow,
)


def create(
    session: Session,
    newsletter: Newsletter,
    *,
    subject: str,
    html: str,
    text: str,
    article_ids: list[int],
) -> Digest:
    digest = Digest(
        newsletter=newsletter, subject=subject, html=html, text=text, article_ids=article_ids
    )
    session.add(digest)
    session.flush()
    return digest


def get(session: Session, digest_id: int) -> Digest | None:
    return session.get(Digest, digest_id)


def add_deliveries(session: Session, digest: Digest) -> int:
    """One pending ledger row per confirmed subscriber, inserted without leaving the database."""
    confirmed = select(
        literal(digest.id),
        Subscription.subscriber_id,
        literal(DeliveryStatus.PENDING.value),
        literal(0),
        literal(""),
        literal(""),
    ).where(
        Subscription.newsletter_id == digest.newsletter_id,
        Subscription.status == SubscriptionStatus.CONFIRMED,
    )
    columns = ["digest_id", "subscriber_id", "status", "attempts", "error", "message_id"]
    session.execute(insert(Delivery).from_select(columns, confirmed))
    # rowcount of INSERT ... SELECT is not reported by every driver; count what is there.
    return (
        session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.digest_id == digest.id)
        )
        or 0
    )


def pending_batches(session: Session, digest_id: int, size: int) -> Iterator[list[int]]:
    """Pending delivery ids in batches, by keyset so the list is never held whole."""
    after = 0
    while True:
        ids = list(
            session.scalars(
                select(Delivery.id)
                .where(
                    Delivery.digest_id == digest_id,
                    Delivery.status == DeliveryStatus.PENDING,
                    Delivery.id > after,
                )
                .order_by(Delivery.id)
                .limit(size)
            )
        )
        if not ids:
            return
        yield ids
        after = ids[-1]


def recipients(session: Session, delivery_ids: Sequence[int]) -> list[tuple[int, Subscriber]]:
    rows = session.execute(
        select(Delivery.id, Subscriber)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.id.in_(delivery_ids))
        .order_by(Delivery.id)
    )
    return [(delivery_id, subscriber) for delivery_id, subscriber in rows]


def claim(session: Session, delivery_id: int) -> bool:
    """Take a pending row for sending; False when another attempt already has it."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SENDING, claimed_at=utcnow(), attempts=Delivery.attempts + 1)
    )
    return result.rowcount == 1


def record(
    session: Session,
    delivery_id: int,
    status: DeliveryStatus,
    *,
    error: str = "",
    message_id: str = "",
) -> None:
    values: dict[str, object] = {"status": status, "error": error[:2000]}
    if status is DeliveryStatus.SENT:
        values.update(sent_at=utcnow(), message_id=message_id)
    session.execute(update(Delivery).where(Delivery.id == delivery_id).values(**values))


def fail_pending(session: Session, delivery_ids: Sequence[int], error: str) -> int:
    """Give up on the rows of a batch that are still pending once its retries are spent."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.id.in_(delivery_ids), Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.FAILED, error=error[:2000])
    )
    return result.rowcount


def release(session: Session, delivery_id: int) -> None:
    """Give a claimed row back (a retryable failure before the server accepted it)."""
    record(session, delivery_id, DeliveryStatus.PENDING)


def counts(session: Session, digest_id: int) -> dict[DeliveryStatus, int]:
    rows = session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.digest_id == digest_id)
        .group_by(Delivery.status)
    )
    found = {DeliveryStatus(status): count for status, count in rows}
    return {status: found.get(status, 0) for status in DeliveryStatus}


def set_status(session: Session, digest: Digest, status: DigestStatus) -> None:
    digest.status = status
    if status is DigestStatus.SENDING and digest.started_at is None:
        digest.started_at = utcnow()
    if status in (DigestStatus.SENT, DigestStatus.FAILED, DigestStatus.CANCELLED):
        digest.finished_at = utcnow()


def finish_if_done(session: Session, digest: Digest) -> bool:
    """Mark a sending digest sent once no row is pending or in flight."""
    open_rows = session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.digest_id == digest.id,
            Delivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
        )
    )
    if open_rows or digest.status is not DigestStatus.SENDING:
        return False
    set_status(session, digest, DigestStatus.SENT)
    return True
