"""Prometheus metrics, read from the database and the broker when scraped.

Counting at the source rather than in each worker process means the figures are the same
whichever web process is scraped, survive restarts, and cover every worker host: the
ledger and the posts table already hold every outcome.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from worker.health import CheckName, check
from worker.settings import Settings
from worker.store import (
    Delivery,
    Digest,
    DigestStatus,
    Newsletter,
    SocialAccount,
    SocialPost,
)


class NewsroomCollector(Collector):
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        # Gauges, not counters: a message moves from pending to sent (and an erasure
        # deletes rows), so a status's count can fall; use delta(), not rate().
        messages = GaugeMetricFamily(
            "newsroom_messages",
            "Digest messages now in each status, by newsletter (sent, failed, pending...).",
            labels=["newsletter", "status"],
        )
        posts = GaugeMetricFamily(
            "newsroom_social_posts",
            "Social posts now in each status, by platform (published, failed, planned...).",
            labels=["platform", "status"],
        )
        duration = GaugeMetricFamily(
            "newsroom_digest_send_seconds",
            "Time from the start of each newsletter's latest finished digest to its end.",
            labels=["newsletter"],
        )
        with self.sessions.begin() as session:
            for slug, status, count in session.execute(
                select(Newsletter.slug, Delivery.status, func.count())
                .select_from(Delivery)
                .join(Digest, Delivery.digest_id == Digest.id)
                .join(Newsletter, Digest.newsletter_id == Newsletter.id)
                .group_by(Newsletter.slug, Delivery.status)
            ):
                messages.add_metric([slug, status.value], count)
            for platform, status, count in session.execute(
                select(SocialAccount.platform, SocialPost.status, func.count())
                .join(SocialAccount, SocialPost.account_id == SocialAccount.id)
                .group_by(SocialAccount.platform, SocialPost.status)
            ):
                posts.add_metric([platform, status.value], count)
            for slug, started, finished in session.execute(
                select(Newsletter.slug, Digest.started_at, Digest.finished_at)
                .join(Newsletter, Digest.newsletter_id == Newsletter.id)
                .where(Digest.status == DigestStatus.SENT, Digest.started_at.is_not(None))
                .order_by(Digest.id)
            ):
                if finished is not None:  # the latest one per newsletter wins
                    duration.add_metric([slug], (finished - started).total_seconds())
        yield messages
        yield posts
        yield _deduplicated(duration)
        yield self._queue_depths()

    def _queue_depths(self) -> Metric:
        depth = GaugeMetricFamily(
            "newsroom_queue_depth", "Messages waiting in each Celery queue.", labels=["queue"]
        )
        report = check(self.settings, only=(CheckName.QUEUES,))
        for queue, waiting in report.checks[CheckName.QUEUES].data.get("depths", {}).items():
            depth.add_metric([queue], waiting)
        return depth


def _deduplicated(metric: Metric) -> Metric:
    """Keep the last sample per label set (the query yields digests oldest first)."""
    latest = {tuple(sample.labels.items()): sample for sample in metric.samples}
    metric.samples = list(latest.values())
    return metric
