"""Log lines: JSON when asked, tagged with what they concern, never with an address or a
signed link's token."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, SQLITE_ONLY, free_port, wait_until
from worker.logs import configure, log_context, redact
from worker.subscribers import preferences_token, unsubscribe_token

SECRET = "test-secret-key"


@pytest.fixture
def restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_context_and_redact(
    restore_logging: object, capsys: pytest.CaptureFixture[str]
) -> None:
    configure("INFO", "json")
    log = logging.getLogger("worker.delivery")
    with log_context(digest_id=12, batch_id="a1b2c3d4"):
        log.warning("550 5.1.1 <%s>: user unknown", "camille.durand@example.org")
    log.info("outside")
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert first["level"] == "WARNING"
    assert first["logger"] == "worker.delivery"
    assert first["digest_id"] == 12
    assert first["batch_id"] == "a1b2c3d4"
    assert first["message"] == "550 5.1.1 <c***@example.org>: user unknown"
    assert "digest_id" not in second


def test_text_lines_name_the_context_too(
    restore_logging: object, capsys: pytest.CaptureFixture[str]
) -> None:
    configure("INFO", "text")
    with log_context(post_id=7):
        logging.getLogger("worker.social").info("published")
    assert capsys.readouterr().err.rstrip().endswith("worker.social: published [post_id=7]")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("to jean.dupont+news@lequotidien.fr", "to j***@lequotidien.fr"),
        ("two: a@b.org, zoé@exemple.fr", "two: a***@b.org, z***@exemple.fr"),
        ("no address: user@localhost", "no address: user@localhost"),
        ("GET /preview?sent=claire%40lequotidien.fr", "GET /preview?sent=c***%40lequotidien.fr"),
        (f"POST /unsubscribe/{unsubscribe_token(SECRET, 12, 3)}", "POST /unsubscribe/<token>"),
        (f"GET /preferences/{preferences_token(SECRET, 12)} 200", "GET /preferences/<token> 200"),
        ("task worker.tasks.redispatch_article_events_now", None),  # dotted, lowercase
        ("ETag abcdefghijklmnopqrstuvwxyz0123456789", None),  # long, but no dotted parts
    ],
    # fixed ids: a timed token differs from one second to the next, and pytest-xdist needs
    # every process to collect the same names
    ids=["address", "two", "local", "encoded", "unsubscribe", "preferences", "task", "etag"],
)
def test_addresses_and_tokens_are_redacted(text: str, masked: str | None) -> None:
    assert redact(text) == (masked or text)


@pytest.mark.parametrize("form", ["json", "text"])
def test_tracebacks_are_redacted_too(
    form: str, restore_logging: object, capsys: pytest.CaptureFixture[str]
) -> None:
    configure("INFO", form)
    try:
        raise ValueError("550 5.1.1 <camille.durand@example.org>: user unknown")
    except ValueError:
        logging.getLogger("worker.delivery").exception("batch failed")
    printed = capsys.readouterr().err
    assert "camille.durand" not in printed
    assert "c***@example.org" in printed
    assert "Traceback" in printed


@SQLITE_ONLY
def test_the_web_apps_access_log_shows_no_token(
    settings_env: dict[str, str], tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "web.log"
    token = unsubscribe_token(SECRET, 12, 3)
    with log.open("wb") as output:
        web = subprocess.Popen(
            [sys.executable, "-m", "worker", "web", "--port", str(port)],
            env={**os.environ, **settings_env, "LOG_LEVEL": "INFO"},
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _listening(base), timeout=20, why=log)
        httpx.get(f"{base}/unsubscribe/{token}")
    finally:
        web.terminate()
        web.wait(10)
    printed = log.read_text()
    assert "GET /unsubscribe/<token> HTTP/1.1" in printed
    assert token.rsplit(".", 1)[1] not in printed


def _listening(base: str) -> bool:
    try:
        httpx.get(f"{base}/login")
    except httpx.TransportError:
        return False
    return True


def test_the_dispatchers_idle_ticks_stay_out_of_the_log(caplog: pytest.LogCaptureFixture) -> None:
    from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS

    import worker.celery_app  # noqa: F401 - installs the filter

    tick, sweep = "worker.tasks.dispatch_social_posts", "worker.tasks.sweep_social_posts"
    beat = logging.getLogger("celery.beat")
    received = logging.getLogger("celery.worker.strategy")
    traced = logging.getLogger("celery.app.trace")
    with caplog.at_level(logging.INFO):
        beat.info("Scheduler: Sending due task %s (%s)", "dispatch-social-posts", tick)
        received.info(LOG_RECEIVED, {"name": tick, "id": "1"})
        traced.info(LOG_SUCCESS, {"name": tick, "id": "1", "runtime": 0.01, "return_value": "0"})
        traced.info(LOG_SUCCESS, {"name": tick, "id": "2", "runtime": 0.01, "return_value": "2"})
        beat.info("Scheduler: Sending due task %s (%s)", "sweep-social-posts", sweep)
        received.info(LOG_RECEIVED, {"name": sweep, "id": "3"})
    assert [record.getMessage() for record in caplog.records] == [
        f"Task {tick}[2] succeeded in 0.01s: 2",
        f"Scheduler: Sending due task sweep-social-posts ({sweep})",
        f"Task {sweep}[3] received",
    ]
