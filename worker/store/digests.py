"""Queries on digests and their delivery ledger.

The ledger has one row per (digest, subscriber), created in bulk inside the database when
the digest is queued; a worker claims a row (pending -> sending) in its own commit before
the send, so a redelivered task finds it taken and never sends twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, case, func, insert, literal, select, update
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
    scheduled_at: datetime | None = None,
    schedule_slot: datetime | None = None,
) -> Digest:
    digest = Digest(
        newsletter=newsletter,
        subject=subject,
        html=html,
        text=text,
        article_ids=article_ids,
        scheduled_at=scheduled_at,
        schedule_slot=schedule_slot,
    )
    session.add(digest)
    session.flush()
    return digest


def get(session: Session, digest_id: int) -> Digest | None:
    return session.get(Digest, digest_id)


def previous(session: Session, newsletter_id: int) -> Digest | None:
    """The newsletter's latest digest that was not cancelled."""
    return session.scalar(
        select(Digest)
        .where(
            Digest.newsletter_id == newsletter_id,
            Digest.status.not_in([DigestStatus.CANCELLED, DigestStatus.SKIPPED]),
        )
        .order_by(Digest.id.desc())
        .limit(1)
    )


def slot_taken(session: Session, newsletter_id: int, slot: datetime) -> bool:
    return (
        session.scalar(
            select(Digest.id).where(
                Digest.newsletter_id == newsletter_id, Digest.schedule_slot == slot
            )
        )
        is not None
    )


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


# The ledger's per-message statements are built once, on the Core tables: building an
# expression or going through the ORM for each of 100,000 messages costs more than the
# database itself.
_deliveries = Delivery.__table__
_digests = Digest.__table__
_subscriptions = Subscription.__table__

_CLAIM = (
    update(_deliveries)
    .where(
        _deliveries.c.id == bindparam("delivery_id"),
        _deliveries.c.status == DeliveryStatus.PENDING.value,
        select(_digests.c.id)
        .where(
            _digests.c.id == _deliveries.c.digest_id,
            _digests.c.status == DigestStatus.SENDING.value,
        )
        .exists(),
        select(_subscriptions.c.id)
        .join(_digests, _digests.c.newsletter_id == _subscriptions.c.newsletter_id)
        .where(
            _digests.c.id == _deliveries.c.digest_id,
            _subscriptions.c.subscriber_id == _deliveries.c.subscriber_id,
            _subscriptions.c.status == SubscriptionStatus.CONFIRMED.value,
        )
        .exists(),
    )
    .values(
        status=DeliveryStatus.SENDING.value,
        claimed_at=bindparam("now"),
        attempts=_deliveries.c.attempts + 1,
    )
)

_RECORD = (
    update(_deliveries)
    .where(_deliveries.c.id == bindparam("delivery_id"))
    .values(status=bindparam("status"), error=bindparam("error"))
)
_RECORD_SENT = (
    update(_deliveries)
    .where(_deliveries.c.id == bindparam("delivery_id"))
    .values(
        status=DeliveryStatus.SENT.value,
        error="",
        sent_at=bindparam("now"),
        message_id=bindparam("message_id"),
    )
)


def claim(session: Session | Connection, delivery_id: int) -> bool:
    """Take a pending row for sending, in the same statement checking that its digest is
    still sending and its subscriber still confirmed: a pause, a cancel or an unsubscribe
    stops the very next send. False when the row may not be sent now."""
    result = session.execute(_CLAIM, {"delivery_id": delivery_id, "now": utcnow()})
    return result.rowcount == 1


def skip_unconfirmed(session: Session, digest: Digest, delivery_ids: Sequence[int]) -> int:
    """Pending rows whose subscriber left (or bounced) since the digest was queued."""
    confirmed = select(Subscription.subscriber_id).where(
        Subscription.newsletter_id == digest.newsletter_id,
        Subscription.status == SubscriptionStatus.CONFIRMED,
    )
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.id.in_(delivery_ids),
            Delivery.status == DeliveryStatus.PENDING,
            Delivery.subscriber_id.not_in(confirmed),
        )
        .values(status=DeliveryStatus.SKIPPED, error="no longer subscribed")
    )
    return result.rowcount


def record(
    session: Session | Connection,
    delivery_id: int,
    status: DeliveryStatus,
    *,
    error: str = "",
    message_id: str = "",
) -> None:
    if status is DeliveryStatus.SENT:
        parameters = {"delivery_id": delivery_id, "now": utcnow(), "message_id": message_id}
        session.execute(_RECORD_SENT, parameters)
    else:
        parameters = {"delivery_id": delivery_id, "status": status.value, "error": error[:2000]}
        session.execute(_RECORD, parameters)


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
    if status in FINISHED:
        digest.finished_at = utcnow()


FINISHED = (DigestStatus.SENT, DigestStatus.FAILED, DigestStatus.CANCELLED, DigestStatus.SKIPPED)
OPEN_ROWS = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


def finish_if_done(session: Session, digest_id: int) -> DigestStatus | None:
    """Close a sending digest once no row is pending or in flight, in one statement so a
    concurrent pause or cancel is never overwritten. Sent if anything was delivered, failed
    if nothing could be."""
    no_open_rows = ~(
        select(Delivery.id)
        .where(Delivery.digest_id == digest_id, Delivery.status.in_(OPEN_ROWS))
        .exists()
    )
    any_sent = (
        select(Delivery.id)
        .where(Delivery.digest_id == digest_id, Delivery.status == DeliveryStatus.SENT)
        .exists()
    )
    any_rows = select(Delivery.id).where(Delivery.digest_id == digest_id).exists()
    outcome = case((any_sent | ~any_rows, DigestStatus.SENT.value), else_=DigestStatus.FAILED.value)
    result = session.execute(
        update(Digest)
        .where(Digest.id == digest_id, Digest.status == DigestStatus.SENDING, no_open_rows)
        .values(status=outcome, finished_at=utcnow())
        .returning(Digest.status)
    )
    row = result.first()
    session.expire_all()
    return DigestStatus(row[0]) if row else None


def pause(session: Session, digest: Digest) -> bool:
    if digest.status not in (DigestStatus.QUEUED, DigestStatus.SENDING):
        return False
    set_status(session, digest, DigestStatus.PAUSED)
    return True


def resume(session: Session, digest: Digest) -> bool:
    """Back to sending; the caller dispatches the rows still pending, and only those."""
    if digest.status is not DigestStatus.PAUSED:
        return False
    set_status(session, digest, DigestStatus.SENDING)
    return True


def cancel(session: Session, digest: Digest) -> bool:
    """Stop for good: nothing more is sent; rows not yet taken are marked cancelled."""
    if digest.status in FINISHED:
        return False
    set_status(session, digest, DigestStatus.CANCELLED)
    session.execute(
        update(Delivery)
        .where(Delivery.digest_id == digest.id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.CANCELLED)
    )
    return True


def mark_stale_claims_unknown(session: Session, *, older_than: timedelta) -> int:
    """Rows claimed long ago with no result: their worker died mid-send. The message may
    have left, so they become unknown and are never sent again."""
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.status == DeliveryStatus.SENDING,
            Delivery.claimed_at < utcnow() - older_than,
        )
        .values(status=DeliveryStatus.UNKNOWN, error="worker lost while sending")
    )
    return result.rowcount


def in_status(session: Session, status: DigestStatus) -> Sequence[Digest]:
    return session.scalars(select(Digest).where(Digest.status == status).order_by(Digest.id)).all()


def last_activity(session: Session, digest: Digest) -> datetime | None:
    """When a row of the digest was last claimed (or the digest started)."""
    claimed = session.scalar(
        select(func.max(Delivery.claimed_at)).where(Delivery.digest_id == digest.id)
    )
    return claimed or digest.started_at


def sent_since(session: Session, digest_id: int, since: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(
                Delivery.digest_id == digest_id,
                Delivery.status == DeliveryStatus.SENT,
                Delivery.sent_at >= since,
            )
        )
        or 0
    )


def latest(session: Session, limit: int = 20) -> Sequence[Digest]:
    return session.scalars(select(Digest).order_by(Digest.id.desc()).limit(limit)).all()


def record_skipped(session: Session, newsletter: Newsletter, slot: datetime, reason: str) -> Digest:
    """Remember that a schedule slot had nothing to send, so it is not tried again."""
    digest = Digest(
        newsletter=newsletter,
        status=DigestStatus.SKIPPED,
        subject=reason,
        schedule_slot=slot,
        scheduled_at=slot,
        finished_at=utcnow(),
    )
    session.add(digest)
    session.flush()
    return digest


def due_queued(session: Session, now: datetime) -> list[int]:
    """Digests queued for a time that has come."""
    return list(
        session.scalars(
            select(Digest.id).where(
                Digest.status == DigestStatus.QUEUED,
                Digest.scheduled_at.is_not(None),
                Digest.scheduled_at <= now,
            )
        )
    )
