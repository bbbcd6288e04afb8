"""Queries on digests and their delivery ledger.

The ledger has one row per (digest, subscriber), created in bulk inside the database when
the digest is queued. A batch run claims its rows (pending -> sending, under its token) in
one transaction, so a redelivered task finds them taken; results are written in bulk and
only by the run that holds the rows (see worker/delivery/_send.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from sqlalchemy import (
    Connection,
    Exists,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from worker.store._models import (
    Delivery,
    DeliveryStatus,
    Digest,
    DigestEvent,
    DigestStatus,
    Newsletter,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Suppression,
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


def status_of(session: Session | Connection, digest_id: int) -> DigestStatus | None:
    status = session.execute(select(Digest.status).where(Digest.id == digest_id)).scalar()
    return DigestStatus(status) if status is not None else None


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
    """One pending ledger row per confirmed subscriber whose address is not suppressed,
    inserted without leaving the database."""
    confirmed = (
        select(
            literal(digest.id),
            Subscription.subscriber_id,
            literal(DeliveryStatus.PENDING.value),
            literal(0),
            literal(""),
            literal(""),
        )
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(
            Subscription.newsletter_id == digest.newsletter_id,
            Subscription.status == SubscriptionStatus.CONFIRMED,
            ~_suppressed(digest.newsletter_id),
        )
    )
    columns = ["digest_id", "subscriber_id", "status", "attempts", "error", "message_id"]
    session.execute(insert(Delivery).from_select(columns, confirmed))
    # rowcount of INSERT ... SELECT is not reported by every driver; count what is there.
    added = (
        session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.digest_id == digest.id)
        )
        or 0
    )
    if added > 1000 and session.get_bind().dialect.name == "postgresql":
        # Fresh statistics for the tables every batch queries: planned on the sizes before
        # a bulk load (a fresh list import, this ledger), PostgreSQL's anti-joins scan the
        # whole list once per row instead of using the (subscriber, newsletter) index.
        session.execute(text("ANALYZE subscribers, subscriptions, suppressions, deliveries"))
    return added


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


def claim_batch(
    session: Session, digest_id: int, delivery_ids: Sequence[int], token: str
) -> list[int]:
    """Take a batch's pending rows for a run (``token``), if the digest is still sending.
    Returns the ids taken; rows another run holds or already finished are left alone."""
    sending = (
        select(Digest.id)
        .where(Digest.id == digest_id, Digest.status == DigestStatus.SENDING)
        .exists()
    )
    taken = session.execute(
        update(Delivery)
        .where(
            Delivery.id.in_(delivery_ids),
            Delivery.digest_id == digest_id,
            Delivery.status == DeliveryStatus.PENDING,
            sending,
        )
        .values(
            status=DeliveryStatus.SENDING,
            claim_token=token,
            claimed_at=utcnow(),
            attempts=Delivery.attempts + 1,
        )
        .returning(Delivery.id)
    )
    return sorted(delivery_id for (delivery_id,) in taken)


# Results are written many at a time with one prepared statement on the Core table.
_deliveries = Delivery.__table__
_APPLY = (
    update(_deliveries)
    .where(_deliveries.c.id == bindparam("b_id"), _deliveries.c.claim_token == bindparam("b_token"))
    .values(
        status=bindparam("b_status"),
        error=bindparam("b_error"),
        message_id=bindparam("b_message_id"),
        sent_at=bindparam("b_sent_at"),
        claim_token=None,
    )
)


def apply_results(
    session: Session | Connection, token: str, results: Sequence[tuple[int, str, str]]
) -> None:
    """Write a run's results: (delivery id, status, message id when sent else the error)."""
    if not results:
        return
    now = utcnow()
    session.execute(
        _APPLY,
        [
            {
                "b_id": delivery_id,
                "b_token": token,
                "b_status": status,
                "b_error": "" if status == DeliveryStatus.SENT.value else detail[:2000],
                "b_message_id": detail if status == DeliveryStatus.SENT.value else "",
                "b_sent_at": now if status == DeliveryStatus.SENT.value else None,
            }
            for delivery_id, status, detail in results
        ],
    )


def skip_unsubscribed(
    session: Session | Connection,
    newsletter_id: int,
    delivery_ids: Sequence[int],
    *,
    held_by: str | None = None,
) -> set[int]:
    """Of ``delivery_ids``, the rows not sent yet whose subscriber left (or bounced) since the
    digest was queued: pending rows, or with ``held_by``, rows that run holds and has not
    attempted. The ids keep the statement on the primary key, whatever the planner thinks
    of tokens."""
    if not delivery_ids:
        return set()
    if held_by is None:
        not_sent = Delivery.status == DeliveryStatus.PENDING
    else:
        not_sent = (Delivery.status == DeliveryStatus.SENDING) & (Delivery.claim_token == held_by)
    rows = session.execute(
        update(Delivery)
        .where(Delivery.id.in_(delivery_ids), not_sent, ~_still_confirmed(newsletter_id))
        .values(status=DeliveryStatus.SKIPPED, error="no longer subscribed", claim_token=None)
        .returning(Delivery.id)
    )
    return {delivery_id for (delivery_id,) in rows}


def _still_confirmed(newsletter_id: int) -> Exists:
    """Correlated on each delivery row, answered by the (subscriber, newsletter) unique
    index: a NOT IN over the newsletter's whole list would be rebuilt for every batch. An
    address suppressed since the digest was queued (a bounce from another newsletter) is
    no longer confirmed either."""
    return (
        select(Subscription.id)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(
            Subscription.subscriber_id == Delivery.subscriber_id,
            Subscription.newsletter_id == newsletter_id,
            Subscription.status == SubscriptionStatus.CONFIRMED,
            ~_suppressed(newsletter_id),
        )
        .exists()
    )


def _suppressed(newsletter_id: int) -> Exists:
    """Correlated on the subscriber's address hash, answered by the (email_hash,
    newsletter_id) index: a row for this newsletter or for all of them."""
    return (
        select(Suppression.id)
        .where(
            Suppression.email_hash == Subscriber.email_hash,
            or_(Suppression.newsletter_id.is_(None), Suppression.newsletter_id == newsletter_id),
        )
        .exists()
    )


def release(session: Session | Connection, token: str, delivery_ids: Sequence[int]) -> None:
    """Give back rows a run held but never attempted: pending again, or cancelled when the
    digest was cancelled meanwhile."""
    if not delivery_ids:
        return
    cancelled = (
        select(Digest.id)
        .where(Digest.id == Delivery.digest_id, Digest.status == DigestStatus.CANCELLED)
        .exists()
    )
    session.execute(
        update(Delivery)
        .where(
            Delivery.id.in_(delivery_ids),
            Delivery.claim_token == token,
            Delivery.status == DeliveryStatus.SENDING,
        )
        .values(
            status=case(
                (cancelled, DeliveryStatus.CANCELLED.value), else_=DeliveryStatus.PENDING.value
            ),
            claim_token=None,
        )
    )


def stale_runs(session: Session, *, older_than: timedelta) -> list[str]:
    """Tokens of runs that still hold rows they claimed long ago."""
    return list(
        session.scalars(
            select(Delivery.claim_token)
            .where(
                Delivery.status == DeliveryStatus.SENDING,
                Delivery.claimed_at < utcnow() - older_than,
                Delivery.claim_token.is_not(None),
            )
            .distinct()
        )
    )


def held_by(session: Session, token: str) -> list[int]:
    return list(
        session.scalars(
            select(Delivery.id).where(
                Delivery.claim_token == token, Delivery.status == DeliveryStatus.SENDING
            )
        )
    )


def digest_of_run(session: Session, token: str) -> int | None:
    return session.scalar(select(Delivery.digest_id).where(Delivery.claim_token == token).limit(1))


def mark_unknown(session: Session, token: str, delivery_ids: Sequence[int], reason: str) -> None:
    """Rows whose message may or may not have left: never sent again."""
    if delivery_ids:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(delivery_ids), Delivery.claim_token == token)
            .values(status=DeliveryStatus.UNKNOWN, error=reason, claim_token=None)
        )


def fail_pending(session: Session, delivery_ids: Sequence[int], error: str) -> int:
    """Give up on the rows of a batch that are still pending once its retries are spent."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.id.in_(delivery_ids), Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.FAILED, error=error[:2000])
    )
    return result.rowcount


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
    # paused before it began (it may be queued for later): back in the queue, not sending
    set_status(session, digest, DigestStatus.SENDING if digest.started_at else DigestStatus.QUEUED)
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


def in_status(session: Session, status: DigestStatus) -> Sequence[Digest]:
    return session.scalars(select(Digest).where(Digest.status == status).order_by(Digest.id)).all()


def last_activity(session: Session, digest: Digest) -> datetime | None:
    """When a row of the digest was last claimed or sent (or the digest started): a batch
    slowed by the rate limit claims once, then records what it sent as it goes."""
    claimed, sent = session.execute(
        select(func.max(Delivery.claimed_at), func.max(Delivery.sent_at)).where(
            Delivery.digest_id == digest.id
        )
    ).one()
    latest = [moment for moment in (claimed, sent, digest.started_at) if moment is not None]
    return max(latest, default=None)


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


def record_event(session: Session, digest_id: int, message: str) -> None:
    session.add(DigestEvent(digest_id=digest_id, message=message))


def events(session: Session, digest_id: int, limit: int = 10) -> list[DigestEvent]:
    """The latest events, oldest first."""
    latest = session.scalars(
        select(DigestEvent)
        .where(DigestEvent.digest_id == digest_id)
        .order_by(DigestEvent.id.desc())
        .limit(limit)
    )
    return list(latest)[::-1]
