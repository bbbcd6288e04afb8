"""A digest's progress: the rate while it sends, and over its whole send once finished."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from tests.db import create_newsletter, create_subscriber
from worker.digests import progress
from worker.store import Delivery, DeliveryStatus, DigestStatus, digests, utcnow


def test_a_finished_digest_keeps_its_average_rate(sessions: sessionmaker[Session]) -> None:
    started = utcnow() - timedelta(hours=1)
    with sessions.begin() as session:
        matinale = create_newsletter(session)
        for n in range(20):
            create_subscriber(session, f"r{n}@example.org", matinale)
        digest = digests.create(session, matinale, subject="S", html="", text="", article_ids=[])
        digests.add_deliveries(session, digest)
        session.execute(
            update(Delivery).values(
                status=DeliveryStatus.SENT, sent_at=started + timedelta(seconds=5)
            )
        )
        digest.status, digest.started_at = DigestStatus.SENDING, started
        sending = progress(session, digest, now=started + timedelta(seconds=10))
        assert sending.rate_per_second == 2.0  # 20 in the 10 s since the start
        digest.status, digest.finished_at = DigestStatus.SENT, started + timedelta(seconds=8)
        # an hour later: 20 in 8 s, not the last minute's nothing
        assert progress(session, digest, now=utcnow()).rate_per_second == 2.5
