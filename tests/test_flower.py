"""``newsroom flower``: a real Flower process on the configured broker (Redis, then RabbitMQ)
sees a real worker through the control channel and its tasks through the event stream, and
answers only with the credentials of FLOWER_BASIC_AUTH."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.cli import newsroom
from tests.conftest import (
    BOTH_BROKERS,
    ROOT,
    SQLITE_ONLY,
    environment,
    free_port,
    start_worker,
    wait_until,
)
from worker.celery_app import app
from worker.settings import Settings

USER, PASSWORD = "ops", "flower-test-password"


@contextmanager
def running_flower(env: dict[str, str], log: Path) -> Iterator[str]:
    """A real ``newsroom flower`` on a free port, yielded (as its base URL) once it answers.
    It leads its own process group, killed on exit even when the test fails."""
    port = free_port()
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "worker", "flower", f"--port={port}"],
            env={**os.environ, **env, "LOG_LEVEL": "INFO"},
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"flower exited:\n{log.read_text(errors='replace')}")
            try:
                return httpx.get(f"{base}/healthcheck", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        try:
            wait_until(answers, 20, log)
            yield base
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(autouse=True)
def _no_flower_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flower reads every FLOWER_* variable itself: none of the developer's may leak in."""
    for name in [name for name in os.environ if name.startswith("FLOWER_")]:
        monkeypatch.delenv(name)


@BOTH_BROKERS
@SQLITE_ONLY  # Flower and the worker are processes; the database makes no difference
def test_flower_shows_the_worker_and_its_tasks_behind_basic_auth(
    settings_env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    worker = start_worker(settings_env, tmp_path / "worker.log", concurrency=1)
    # from the .env file, as an operator outside Docker keeps it
    Path(settings_env["NEWSROOM_ENV_FILE"]).write_text(f"FLOWER_BASIC_AUTH={USER}:{PASSWORD}\n")
    log = tmp_path / "flower.log"
    with running_flower(settings_env, log) as base, httpx.Client(base_url=base, timeout=5) as http:
        # the compose healthcheck needs no credentials; everything else does
        assert http.get("/healthcheck").text == "OK"
        for path in ("/", "/api/workers", "/api/tasks"):
            assert http.get(path).status_code == 401, path
        assert http.get("/api/workers", auth=(USER, "wrong")).status_code == 401
        http.auth = (USER, PASSWORD)

        # the control channel: Flower's inspect broadcast reaches the worker and it answers
        def listed() -> bool:
            return worker.node in http.get("/api/workers", params={"refresh": 1}).json()

        wait_until(listed, 10, log)
        registered = http.get("/api/workers").json()[worker.node]["registered"]
        assert "worker.tasks.sweep_digests" in registered

        # the event stream: a heartbeat has arrived, so Flower receives the worker's events
        def alive() -> bool:
            return http.get("/api/workers", params={"status": 1}).json().get(worker.node)

        wait_until(alive, 10, log)
        with app.connection_for_write() as connection:  # the broker of these settings
            task_id = app.send_task("worker.tasks.sweep_digests", connection=connection).id

        def succeeded() -> bool:
            return http.get("/api/tasks").json().get(task_id, {}).get("state") == "SUCCESS"

        wait_until(succeeded, 10, worker.log)
        task = http.get("/api/tasks").json()[task_id]
        assert task["name"] == "worker.tasks.sweep_digests"
        assert task["worker"] == worker.node
        assert "worker.tasks.sweep_digests" in http.get(f"/task/{task_id}").text  # its page

    output = log.read_text(errors="replace")
    assert "Flower on http://127.0.0.1:" in output
    assert PASSWORD not in output  # never logged


def test_a_malformed_basic_auth_is_refused_without_echoing_it(tmp_path: Path) -> None:
    # refused before anything starts: no database, broker or port is needed
    env = environment(tmp_path, FLOWER_BASIC_AUTH="no-colon-secret")
    result = newsroom(env, "flower")
    assert result.returncode == 2
    assert "FLOWER_BASIC_AUTH: expected user:password" in result.stderr
    assert "no-colon-secret" not in result.stdout + result.stderr
