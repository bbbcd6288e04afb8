"""A digest's recipients honour the suppression list, when queued and when sent; its last
activity, by which the sweeper tells a stalled digest from a slow one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.db import create_newsletter, create_subscriber
from worker.store import (
    Delivery,
    DeliveryStatus,
    Suppression,
    SuppressionReason,
    address_hash,
    digests,
    subscribers,
    utcnow,
)


def recipients(session: Session, digest_id: int) -> dict[str, DeliveryStatus]:
    ids = [d.id for d in session.scalars(select(Delivery).where(Delivery.digest_id == digest_id))]
    statuses = dict(session.execute(select(Delivery.id, Delivery.status)).all())
    return {s.email: statuses[i] for i, s in digests.recipients(session, ids)}


def test_suppressed_addresses_get_no_ledger_row_and_leave_a_queued_digest(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        matinale = create_newsletter(session)
        briefing = create_newsletter(session, "morning-briefing", "en")
        for name in ("all", "this", "other", "clean", "later"):
            create_subscriber(session, f"{name}@example.org", matinale)
        create_subscriber(session, "later@example.org", briefing)
        for name, newsletter_id in (("all", None), ("this", matinale.id), ("other", briefing.id)):
            subscribers.suppress(
                session,
                address_hash(f"{name}@example.org"),
                SuppressionReason.BOUNCED,
                newsletter_id,
            )
        digest = digests.create(session, matinale, subject="S", html="", text="", article_ids=[])
        assert digests.add_deliveries(session, digest) == 3
        assert set(recipients(session, digest.id)) == {
            "other@example.org",
            "clean@example.org",
            "later@example.org",
        }
        digest_id, matinale_id = digest.id, matinale.id

    with sessions.begin() as session:
        later = subscribers.get_by_email(session, "later@example.org")
        assert later is not None
        # a hard bounce from the other newsletter: the whole address is suppressed
        subscribers.mark_bounced(session, later.id, briefing.id)
        subscribers.mark_bounced(session, later.id, briefing.id)
        rows = session.scalars(
            select(Suppression).where(Suppression.email_hash == later.email_hash)
        ).all()
        assert [(r.reason, r.newsletter_id) for r in rows] == [(SuppressionReason.BOUNCED, None)]
        pending = [d.id for d in session.scalars(select(Delivery))]
        skipped = digests.skip_unsubscribed(session, matinale_id, pending)
        assert len(skipped) == 1
        assert recipients(session, digest_id) == {
            "other@example.org": DeliveryStatus.PENDING,
            "clean@example.org": DeliveryStatus.PENDING,
            "later@example.org": DeliveryStatus.SKIPPED,
        }


def test_a_slow_batch_shows_activity_by_what_it_sends_not_only_by_its_claim(
    sessions: sessionmaker[Session],
) -> None:
    now = utcnow()
    with sessions.begin() as session:
        matinale = create_newsletter(session)
        for n in range(2):
            create_subscriber(session, f"r{n}@example.org", matinale)
        digest = digests.create(session, matinale, subject="S", html="", text="", article_ids=[])
        digests.add_deliveries(session, digest)
        digest.started_at = now - timedelta(minutes=20)
        assert digests.last_activity(session, digest) == digest.started_at
        # claimed 7 minutes ago by a rate-limited batch, which sent one a minute ago
        session.execute(update(Delivery).values(claimed_at=now - timedelta(minutes=7)))
        first = session.scalars(select(Delivery.id)).first()
        session.execute(
            update(Delivery)
            .where(Delivery.id == first)
            .values(status=DeliveryStatus.SENT, sent_at=now - timedelta(minutes=1))
        )
        assert digests.last_activity(session, digest) == now - timedelta(minutes=1)
