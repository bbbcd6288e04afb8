"""Is newsroom working? One report, for ``newsroom health`` and ``GET /health`` alike.

Each check runs in a thread of its own and the report waits for them all at most
``DEADLINE`` seconds, every client having shorter timeouts still: a dead database, Redis
or broker costs a few seconds and names itself, instead of hanging the container
healthcheck, load balancer or operator that asked.

Workers are seen through Celery's own broadcast (``inspect active_queues``: the nodes that
answer and the queues each consumes), not through a registry of our own. Beat is seen
through the time of its latest publish, which it writes to Redis (see celery_app).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from celery import Celery
from kombu import Connection
from redis import Redis
from sqlalchemy import text

from worker.celery_app import BEAT_HEARTBEAT_KEY, app, redis_client
from worker.embedded_redis import EmbeddedRedis
from worker.settings import Settings, mask_url
from worker.store import SocialAccountStatus, session_factory, social

# Seconds a client may wait to connect or for one answer; the whole report, a little more.
CLIENT_SECONDS = 3.0
DEADLINE = 5.0
# How long workers have to answer a broadcast: an idle worker answers in milliseconds, and
# the main process of a busy one still answers (its pool does the work).
INSPECT_SECONDS = 1.0
# The queues that must each have a consumer: email (the default queue) and the routed ones.
QUEUES = tuple(
    sorted({app.conf.task_default_queue, *(r["queue"] for r in app.conf.task_routes.values())})
)


class CheckName(StrEnum):
    DATABASE = "database"
    REDIS = "redis"
    BROKER = "broker"
    WORKERS = "workers"
    QUEUES = "queues"
    BEAT = "beat"
    SOCIAL_ACCOUNTS = "social_accounts"


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str  # one line for a person
    data: dict[str, Any] = field(default_factory=dict)  # the figures, for a machine


@dataclass(frozen=True)
class Report:
    checks: dict[CheckName, Check]
    checked_at: datetime

    @property
    def healthy(self) -> bool:
        return all(check.ok for check in self.checks.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "checked_at": self.checked_at.isoformat(timespec="seconds"),
            "checks": {
                name.value: {"ok": check.ok, "detail": check.detail, **check.data}
                for name, check in self.checks.items()
            },
        }


def check(settings: Settings, only: Collection[CheckName] = (), node: str | None = None) -> Report:
    """Run the checks (all of them, or ``only`` these), side by side, within DEADLINE.

    With ``node`` (``celery@host``), the workers check asks that worker alone and passes when
    it answers: a worker container's own healthcheck, which must not fail because another
    worker is down.
    """
    # the embedded server's address, never started here: a check that started it would
    # always find it up
    redis = settings.redis_url or EmbeddedRedis(settings.data_dir).url
    broker = settings.broker_url or redis
    probes: dict[CheckName, Callable[[], Check]] = {
        CheckName.DATABASE: lambda: _database(settings.database_url),
        CheckName.REDIS: lambda: _redis(redis),
        CheckName.BROKER: lambda: _broker(broker),
        CheckName.WORKERS: lambda: _workers(broker, node),
        CheckName.QUEUES: lambda: _queues(broker),
        CheckName.BEAT: lambda: _beat(redis, 3 * settings.file.social.dispatch_seconds + 30),
        CheckName.SOCIAL_ACCOUNTS: lambda: _social_accounts(settings.database_url),
    }
    chosen = {name: probes[name] for name in CheckName if not only or name in only}
    return Report(_run_bounded(chosen), datetime.now(UTC))


def _run_bounded(probes: dict[CheckName, Callable[[], Check]]) -> dict[CheckName, Check]:
    """Every probe in a daemon thread: one that is still waiting at the deadline is
    reported as such and left behind (its own client timeouts end it soon after)."""
    results: dict[CheckName, Check] = {}

    def run(name: CheckName, probe: Callable[[], Check]) -> None:
        try:
            results[name] = probe()
        except Exception as exc:  # a health check reports a failure, it does not raise one
            first_line = (str(exc).splitlines() or [""])[0]
            results[name] = Check(False, f"{type(exc).__name__}: {first_line}"[:300])

    threads = [
        threading.Thread(target=run, args=item, name=f"health-{item[0]}", daemon=True)
        for item in probes.items()
    ]
    for thread in threads:
        thread.start()
    end = time.monotonic() + DEADLINE
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    late = Check(False, f"no answer within {DEADLINE:g} s")
    return {name: results.get(name, late) for name in probes}


def _database(url: str) -> Check:
    with session_factory(url)() as session:
        session.execute(text("SELECT 1"))
    return Check(True, "SELECT 1 answered")


def _redis_client(url: str) -> Redis:
    return redis_client(url, socket_connect_timeout=CLIENT_SECONDS, socket_timeout=CLIENT_SECONDS)


def _redis(url: str) -> Check:
    with _redis_client(url) as client:
        client.ping()
    return Check(True, "PING answered")


def _timeouts(url: str) -> dict[str, float]:
    """What each transport understands: Redis socket timeouts, py-amqp read and write ones."""
    if urlsplit(url).scheme.startswith("redis"):
        return {"socket_timeout": CLIENT_SECONDS, "socket_connect_timeout": CLIENT_SECONDS}
    return {"read_timeout": CLIENT_SECONDS, "write_timeout": CLIENT_SECONDS}


def _broker_connection(url: str) -> Connection:
    connection = app.connection_for_write(
        url, connect_timeout=CLIENT_SECONDS, transport_options=_timeouts(url)
    )
    connection.ensure_connection(max_retries=0)
    return connection


def _broker(url: str) -> Check:
    _broker_connection(url).release()
    return Check(True, f"{mask_url(url)} answered", {"url": mask_url(url)})


def _workers(broker: str, node: str | None) -> Check:
    """The nodes that answer, and the queues each consumes. The broadcast goes through a
    Celery app of its own on this broker: the main app's would go through its producer pool,
    which stays on the broker of the process's first publish (amqp://localhost before
    connect()), while the replies are read here."""
    with (
        Celery("newsroom-health", broker=broker, set_as_current=False) as probe,
        _broker_connection(broker) as connection,
    ):
        probe.conf.update(
            broker_connection_timeout=CLIENT_SECONDS, broker_transport_options=_timeouts(broker)
        )
        inspect = probe.control.inspect(
            destination=[node] if node else None,
            limit=1 if node else None,  # the one expected answer ends the wait
            timeout=INSPECT_SECONDS,
            connection=connection,
        )
        replies: dict[str, list[dict[str, Any]]] = inspect.active_queues() or {}
    nodes = sorted(replies)
    consumers = {
        queue: [name for name in nodes if any(q.get("name") == queue for q in replies[name])]
        for queue in QUEUES
    }
    data = {"nodes": nodes, "consumers": consumers}
    if node:
        answered = node in replies
        return Check(answered, f"{node} {'answered' if answered else 'did not answer'}", data)
    if not nodes:
        return Check(False, f"no worker answered within {INSPECT_SECONDS:g} s", data)
    idle = [queue for queue, names in consumers.items() if not names]
    if idle:
        return Check(False, f"no worker consumes {', '.join(idle)}", data)
    return Check(True, f"{len(nodes)} worker(s); every queue has a consumer", data)


def _queues(broker: str) -> Check:
    """Messages waiting per queue, through a declare that both brokers answer with a count
    (Redis: the lengths of the queue's lists; RabbitMQ: the queue's ready messages). It is
    Celery's own declaration of the queue, so on RabbitMQ it creates nothing a worker would
    not, and conflicts with nothing."""
    with _broker_connection(broker) as connection, connection.channel() as channel:
        depths = {
            name: app.amqp.queues[name].bind(channel).queue_declare().message_count
            for name in QUEUES
        }
    shown = ", ".join(f"{name} {depth}" for name, depth in depths.items())
    return Check(True, f"waiting: {shown}", {"depths": depths})


def _beat(url: str, max_lag: float) -> Check:
    with _redis_client(url) as client:
        raw = client.get(BEAT_HEARTBEAT_KEY)
    data: dict[str, Any] = {"last": None, "lag_seconds": None, "max_lag_seconds": max_lag}
    if raw is None:
        return Check(False, "beat has not published anything yet", data)
    last = float(raw)
    lag = max(0.0, time.time() - last)
    data["last"] = datetime.fromtimestamp(last, UTC).isoformat(timespec="seconds")
    data["lag_seconds"] = round(lag, 1)
    return Check(lag <= max_lag, f"last publish {lag:.0f} s ago (limit {max_lag:g} s)", data)


def _social_accounts(url: str) -> Check:
    """Accounts whose token a platform refused: their posts wait until someone signs in again."""
    with session_factory(url)() as session:
        waiting = [
            {"name": account.name, "platform": account.platform, "last_error": account.last_error}
            for account, _ in social.accounts(session)
            if account.status == SocialAccountStatus.NEEDS_REAUTH
        ]
    if waiting:
        names = ", ".join(account["name"] for account in waiting)
        return Check(False, f"to re-authorize: {names}", {"needs_reauth": waiting})
    return Check(True, "none needs re-authorization", {"needs_reauth": []})
