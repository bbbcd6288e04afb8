"""GET /metrics: what Prometheus scrapes, read from the database and the broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from tests.db import create_article, create_subscriber
from worker.digests import prepare_digest
from worker.dispatch import plan_social_posts
from worker.settings import Settings
from worker.store import Delivery, DeliveryStatus, DigestStatus, SocialPostStatus, newsletters


def samples(web: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = web.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_count_messages_posts_and_queues(
    web: httpx.Client, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    start = datetime(2026, 11, 24, 7, tzinfo=UTC)
    with sessions.begin() as session:
        newsletters.sync(session, settings.file.newsletters)
        matinale = newsletters.get_by_slug(session, "la-matinale")
        create_article(session)  # for the French newsletter
        english = create_article(session, 2, language="en")  # for the English X account
        for n in range(3):
            create_subscriber(session, f"reader{n}@example.org", matinale)
        digest, _ = prepare_digest(
            session,
            "la-matinale",
            settings.file.newsletters["la-matinale"],
            now=start,
            timezone="Europe/Paris",
        )
        session.execute(
            update(Delivery).where(Delivery.digest_id == digest.id).values(status="sent")
        )
        digest.status, digest.started_at = DigestStatus.SENT, start
        digest.finished_at = start + timedelta(seconds=42)
        (post,) = plan_social_posts(session, settings, english)
        post.status = SocialPostStatus.PUBLISHED

    found = samples(web)
    sent = (("newsletter", "la-matinale"), ("status", DeliveryStatus.SENT.value))
    assert found["newsroom_messages", sent] == 3
    published = (("platform", "twitter"), ("status", "published"))
    assert found["newsroom_social_posts", published] == 1
    assert found["newsroom_digest_send_seconds", (("newsletter", "la-matinale"),)] == 42
    assert found["newsroom_queue_depth", (("queue", "newsroom"),)] == 0
    assert found["newsroom_queue_depth", (("queue", "social"),)] == 0
