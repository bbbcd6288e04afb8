"""The Celery application and its safe defaults.

Messages are JSON (never pickle); a task is acknowledged only after it ran (acks_late) and
handed back if its process dies (reject_on_worker_lost), each worker process reserves one
message at a time, and every task has a time limit. Redelivery is therefore normal, which
is why every task is idempotent through the database (a claimed ledger row, a handled
event), never through Celery.
"""

from __future__ import annotations

from functools import cache

import redis
from celery import Celery
from celery.signals import worker_process_init

from worker.embedded_redis import EmbeddedRedis
from worker.settings import Settings
from worker.store import dispose_engines

app = Celery("newsroom", include=["worker.tasks"])
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_time_limit=600,
    task_soft_time_limit=540,
    task_ignore_result=True,
    task_default_queue="newsroom",
    # Social posts have their own queue: a worker that takes only that one
    # (`newsroom worker --queues social`) is never busy with a digest when a post is due.
    task_routes={
        f"worker.tasks.{name}": {"queue": "social"}
        for name in ("dispatch_social_posts", "publish_social_post", "sweep_social_posts")
    },
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    worker_send_task_events=True,
    timezone="UTC",
    enable_utc=True,
)
_redis_url: str | None = None


def redis_url(settings: Settings) -> str:
    """REDIS_URL, or the embedded server of the data directory, started if needed."""
    if not settings.embedded_redis:
        assert settings.redis_url is not None
        return settings.redis_url
    embedded = EmbeddedRedis(settings.data_dir)
    embedded.ensure_running()
    return embedded.url


def connect(settings: Settings) -> str:
    """Point the Celery app at its broker and beat at its schedule; returns the Redis URL."""
    global _redis_url
    _redis_url = redis_url(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # beat keeps its schedule there
    app.conf.broker_url = settings.broker_url or _redis_url
    app.conf.beat_schedule_filename = str(settings.data_dir / "celerybeat-schedule")
    every = settings.file.delivery.sweep_seconds
    social = settings.file.social
    app.conf.beat_schedule = {
        "redispatch-article-events": {
            "task": "worker.tasks.redispatch_article_events",
            "schedule": 60.0,
        },
        "sweep-digests": {"task": "worker.tasks.sweep_digests", "schedule": every},
        "queue-scheduled-digests": {
            "task": "worker.tasks.queue_scheduled_digests",
            "schedule": every,
        },
        "dispatch-social-posts": {
            "task": "worker.tasks.dispatch_social_posts",
            "schedule": social.dispatch_seconds,
            # a tick nobody ran in time is replaced by the next one, not piled up
            "options": {"expires": max(1.0, social.dispatch_seconds * 5)},
        },
        "sweep-social-posts": {"task": "worker.tasks.sweep_social_posts", "schedule": every},
    }
    return _redis_url


def current_redis() -> redis.Redis:
    """The Redis of this process's connect() (schedule, rate limits, locks)."""
    if _redis_url is None:
        raise RuntimeError("connect(settings) first")
    return _client(_redis_url)


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url.replace("redis+socket://", "unix://"))


@worker_process_init.connect
def _fresh_connections_after_fork(**_: object) -> None:
    dispose_engines()
