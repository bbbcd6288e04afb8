"""``newsroom health``: a real worker and beat, or none, on the real database, Redis and broker."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from tests.cli import newsroom
from tests.conftest import (
    BOTH_BROKERS,
    SQLITE_ONLY,
    WorkerProcess,
    free_port,
    start_worker,
    wait_until,
)
from worker.celery_app import BEAT_HEARTBEAT_KEY, app, current_redis
from worker.embedded_redis import EmbeddedRedis
from worker.health import DEADLINE, CheckName, check
from worker.settings import Settings, load_settings
from worker.store import SocialAccountStatus, social

# Starting a worker and beat costs seconds, and the database makes no difference to them:
# those tests run on SQLite alone (the RabbitMQ variants run on nothing else).
on_sqlite = SQLITE_ONLY
on_postgresql = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def worker_and_beat(
    settings_env: dict[str, str], settings: Settings, tmp_path: Path
) -> Iterator[WorkerProcess]:
    """A worker on both queues and beat, returned once beat has published."""
    worker = start_worker(settings_env, tmp_path / "worker.log")
    beat = start_worker(settings_env, tmp_path / "beat.log", command="beat")
    try:
        wait_until(lambda: current_redis().exists(BEAT_HEARTBEAT_KEY), 15, tmp_path / "beat.log")
        yield worker
    finally:
        beat.discard()
        worker.discard()


@BOTH_BROKERS
@on_sqlite
def test_healthy_with_a_worker_on_every_queue_and_beat_ticking(
    worker_and_beat: WorkerProcess, settings: Settings, settings_env: dict[str, str]
) -> None:
    report = check(settings)
    assert report.healthy, report.as_json()
    node = worker_and_beat.node
    workers = report.checks[CheckName.WORKERS].data
    assert node in workers["nodes"]
    assert node in workers["consumers"]["newsroom"]
    assert node in workers["consumers"]["social"]
    assert report.checks[CheckName.QUEUES].data["depths"].keys() == {"newsroom", "social"}
    beat = report.checks[CheckName.BEAT].data
    assert beat["lag_seconds"] < 5
    assert beat["max_lag_seconds"] == 3 * settings.file.social.dispatch_seconds + 30

    # a worker container's own probe: its node answers, another's absence is not its fault
    probe = newsroom(settings_env, "health", "--json", "--only", "workers", "--node", node)
    assert probe.returncode == 0, probe.stdout + probe.stderr
    assert json.loads(probe.stdout)["checks"]["workers"]["detail"] == f"{node} answered"
    elsewhere = check(settings, only=[CheckName.WORKERS], node="celery@gone")
    assert elsewhere.checks[CheckName.WORKERS].detail == "celery@gone did not answer"
    assert not elsewhere.healthy


@on_sqlite
def test_a_queue_nobody_consumes_is_named(worker: WorkerProcess, settings: Settings) -> None:
    # an app of its own: the test process's main app may still publish to an earlier broker
    with Celery(broker=settings.broker_url, set_as_current=False) as remote:
        remote.control.cancel_consumer("social", destination=[worker.node], reply=True)
    workers = check(settings, only=[CheckName.WORKERS]).checks[CheckName.WORKERS]
    assert not workers.ok
    assert workers.detail == "no worker consumes social"
    assert workers.data["consumers"] == {"newsroom": [worker.node], "social": []}


def test_without_worker_or_beat_it_says_what_is_missing(
    settings: Settings, settings_env: dict[str, str]
) -> None:
    with app.connection_for_write() as connection:  # the broker of these settings
        app.send_task("worker.tasks.sweep_digests", connection=connection)  # nobody takes it
    report = check(settings)
    assert not report.healthy
    failed = {name for name, outcome in report.checks.items() if not outcome.ok}
    assert failed == {CheckName.WORKERS, CheckName.BEAT}
    assert report.checks[CheckName.WORKERS].detail == "no worker answered within 1 s"
    assert report.checks[CheckName.BEAT].detail == "beat has not published anything yet"
    assert report.checks[CheckName.QUEUES].data["depths"] == {"newsroom": 1, "social": 0}

    result = newsroom(settings_env, "health")
    assert result.returncode == 1
    assert "unhealthy" in result.stdout
    assert "no worker answered" in result.stdout


@on_postgresql
def test_beat_silent_for_too_long_is_unhealthy(settings: Settings) -> None:
    current_redis().set(BEAT_HEARTBEAT_KEY, repr(time.time() - 600))
    beat = check(settings, only=[CheckName.BEAT]).checks[CheckName.BEAT]
    assert not beat.ok
    assert beat.detail == "last publish 600 s ago (limit 33 s)"


def test_an_account_needing_reauthorization_is_reported(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        account = social.sync_accounts(session, settings.file.social.accounts)["test_x"]
        account.status = SocialAccountStatus.NEEDS_REAUTH
        account.last_error = "2026-11-24 07:00 UTC post 3: auth_expired: token expired"
    report = check(settings, only=[CheckName.SOCIAL_ACCOUNTS, CheckName.DATABASE])
    assert not report.healthy
    accounts = report.checks[CheckName.SOCIAL_ACCOUNTS]
    assert accounts.detail == "to re-authorize: test_x"
    assert accounts.data["needs_reauth"] == [
        {
            "name": "test_x",
            "platform": "twitter",
            "last_error": "2026-11-24 07:00 UTC post 3: auth_expired: token expired",
        }
    ]


@on_postgresql
def test_a_dead_broker_fails_fast_and_is_named(settings_env: dict[str, str]) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings = load_settings({**settings_env, "CELERY_BROKER_URL": dead})
    started = time.monotonic()
    report = check(settings)
    assert time.monotonic() - started < DEADLINE + 1
    failed = {name for name, outcome in report.checks.items() if not outcome.ok}
    assert {CheckName.BROKER, CheckName.WORKERS, CheckName.QUEUES} <= failed
    assert "Connection refused" in report.checks[CheckName.BROKER].detail
    assert report.checks[CheckName.DATABASE].ok
    assert report.checks[CheckName.REDIS].ok


@on_postgresql
def test_the_embedded_redis_is_checked_not_started(settings_env: dict[str, str]) -> None:
    embedded = {
        k: v for k, v in settings_env.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")
    }
    settings = load_settings(embedded)
    assert settings.embedded_redis
    report = check(settings, only=[CheckName.REDIS, CheckName.BROKER])
    assert not report.checks[CheckName.REDIS].ok
    assert not report.checks[CheckName.BROKER].ok
    assert not EmbeddedRedis(settings.data_dir).is_running()
