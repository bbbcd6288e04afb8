"""The Celery application and its safe defaults.

Messages are JSON (never pickle); a task is acknowledged only after it ran (acks_late) and
handed back if its process dies (reject_on_worker_lost), each worker process reserves one
message at a time, and every task has a time limit. Redelivery is therefore normal, which
is why every task is idempotent through the database (a claimed ledger row, a handled
event), never through Celery.
"""

from __future__ import annotations

import logging
import time
from contextvars import Token
from functools import cache
from typing import Any

import redis
from celery import Celery, Task
from celery.signals import (
    after_task_publish,
    beat_init,
    task_postrun,
    task_prerun,
    worker_process_init,
)

from worker import logs
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

# The time of beat's latest publish; `newsroom health` reports the lag from it.
BEAT_HEARTBEAT_KEY = "newsroom:beat:last"


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
    broker = settings.broker_url or _redis_url
    app.conf.broker_url = broker
    _forget_broker_connections()
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


def _forget_broker_connections() -> None:
    """Publishing reuses pooled connections to the broker first used; a process that moves
    to another broker (the tests run on Redis, then on RabbitMQ) must drop them, as Celery
    itself does after a fork."""
    app._pool = None  # kombu keeps one pool per broker URL: the next use finds the right one
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


def current_redis() -> redis.Redis:
    """The Redis of this process's connect() (schedule, rate limits, locks)."""
    if _redis_url is None:
        raise RuntimeError("connect(settings) first")
    return _client(_redis_url)


def redis_client(url: str, **options: Any) -> redis.Redis:
    """A client of REDIS_URL or of the embedded server (kombu's redis+socket:// URL)."""
    return redis.Redis.from_url(url.replace("redis+socket://", "unix://"), **options)


@cache
def _client(url: str) -> redis.Redis:
    return redis_client(url)


@worker_process_init.connect
def _fresh_connections_after_fork(**_: object) -> None:
    dispose_engines()


# Which argument of each task names what its log lines are about.
_LOG_IDS = {
    "worker.tasks.send_digest": "digest_id",
    "worker.tasks.send_digest_batch": "digest_id",
    "worker.tasks.publish_social_post": "post_id",
    "worker.tasks.article_published": "event_id",
}
_log_tokens: dict[str, Token[dict[str, object]]] = {}


@task_prerun.connect
def _tag_log_lines(task_id: str, task: Task, args: tuple[object, ...], **_: object) -> None:
    ids: dict[str, object] = {}
    if task.name in _LOG_IDS and args:
        ids[_LOG_IDS[task.name]] = args[0]
    if task.name == "worker.tasks.send_digest_batch":
        ids["batch_id"] = task_id[:8]
    if ids:
        _log_tokens[task_id] = logs.bind(**ids)


@task_postrun.connect
def _untag_log_lines(task_id: str, **_: object) -> None:
    token = _log_tokens.pop(task_id, None)
    if token is not None:
        logs.unbind(token)


# Beat's dispatcher ticks every second: its routine lines (sent, received, succeeded with
# nothing queued) would be most of an INFO log. A tick that queues posts still shows.
_TICK = "worker.tasks.dispatch_social_posts"


class _QuietTicks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, dict) and args.get("name") == _TICK:  # received, succeeded
            return args.get("return_value", "0") != "0"
        return not (isinstance(args, tuple) and _TICK in args)  # beat: sending due task


for _logger in ("celery.beat", "celery.worker.strategy", "celery.app.trace"):
    logging.getLogger(_logger).addFilter(_QuietTicks())


@beat_init.connect
def _record_beat_publishes(**_: object) -> None:
    """Only beat's publishes count: a worker or the web app enqueuing says nothing of beat.
    The dispatcher runs every few seconds, so a stale time means beat stopped ticking."""
    after_task_publish.connect(_beat_published, weak=False)


def _beat_published(**_: object) -> None:
    current_redis().set(BEAT_HEARTBEAT_KEY, repr(time.time()))
