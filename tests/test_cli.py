"""The ``newsroom`` command, run as a user runs it: a real process, real database and Redis."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.cli import newsroom_process
from tests.conftest import ROOT, environment
from worker.embedded_redis import EmbeddedRedis

FIXTURES = ROOT / "tests" / "articles" / "fixtures"


def test_config_check_prints_the_configuration_with_secrets_masked(tmp_path: Path) -> None:
    env = environment(tmp_path, SMTP_URL="smtp://mailer:hunter2-secret@mail.example:587")
    result = newsroom_process(env, "config", "check")
    assert result.returncode == 0, result.stderr
    assert "hunter2-secret" not in result.stdout
    assert "test-secret-key" not in result.stdout
    assert "smtp://mailer:********@mail.example:587" in result.stdout
    assert "la-matinale" in result.stdout


def test_invalid_configuration_fails_at_start_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('# the paper\n[site]\ntimezon = "UTC"\n')
    result = newsroom_process(
        environment(tmp_path, NEWSROOM_CONFIG=str(config)), "articles", "list"
    )
    assert result.returncode == 2
    assert f"{config}:3: site.timezon: unknown key (did you mean 'timezone'?)" in result.stderr


def test_import_reports_rejects_keeps_valid_records_and_is_idempotent(
    tmp_path: Path, sqlite_url: str, redis_url: str
) -> None:
    env = environment(
        tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}", REDIS_URL=redis_url
    )
    mixed = newsroom_process(env, "articles", "import", str(FIXTURES / "mixed.json"))
    assert mixed.returncode == 1
    assert "rejected 2" in mixed.stdout
    assert "mixed.json: record 2" in mixed.stderr
    assert "field 'title'" in mixed.stderr
    assert "field 'published_at'" in mixed.stderr

    first = newsroom_process(env, "articles", "import", str(FIXTURES / "articles.json"))
    assert first.returncode == 0, first.stderr
    assert "imported 3, updated 0, unchanged 0, rejected 0" in first.stdout
    again = newsroom_process(env, "articles", "import", str(FIXTURES / "articles.json"))
    assert "imported 0" in again.stdout
    assert "rejected 0" in again.stdout

    listed = newsroom_process(env, "articles", "list", "--json")
    rows = json.loads(listed.stdout)
    assert len(rows) == len({row["url"] for row in rows}) == 4
    assert {"id", "published_at", "language", "title"} <= set(rows[0])


def test_import_of_missing_file_and_unknown_format(tmp_path: Path, redis_url: str) -> None:
    env = environment(tmp_path, REDIS_URL=redis_url)
    (tmp_path / "notes.txt").write_text("just some words")
    result = newsroom_process(
        env, "articles", "import", str(tmp_path / "absent.json"), str(tmp_path / "notes.txt")
    )
    assert result.returncode == 1
    assert "absent.json" in result.stderr
    assert "notes.txt" in result.stderr
    assert "rejected 2" in result.stdout


@pytest.mark.timeout(300)
def test_demo_runs_end_to_end_twice_on_embedded_defaults(tmp_path: Path) -> None:
    env = environment(tmp_path)
    for key in ("REDIS_URL", "DATABASE_URL", "CELERY_BROKER_URL"):
        os.environ.pop(key, None)
    env["NEWSROOM_CONFIG"] = str(ROOT / "config" / "newsroom.toml")
    outbox = tmp_path / "data" / "outbox"

    first = newsroom_process(env, "demo", timeout=240)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "digest 1 (la-matinale): sent, 3 sent" in first.stdout
    assert "digest 2 (morning-briefing): sent, 2 sent" in first.stdout
    assert str(outbox) in first.stdout.replace("\n", "")
    assert len(list(outbox.glob("*.eml"))) == 5
    # two French articles, one post each for the three French sample accounts
    assert "social posts planned: 6 (publisher: dry-run)" in first.stdout
    assert "post 1   quotidien_x" in first.stdout
    command = Path(sys.executable).parent / "newsroom"
    assert f"  {command} social preview ARTICLE" in first.stdout.splitlines()  # copyable
    assert not EmbeddedRedis(tmp_path / "data").is_running()

    second = newsroom_process(env, "demo", timeout=240)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "0 imported" in second.stdout
    # since the previous digest nothing new was published: nothing is sent again
    assert "no new article in 'fr' since digest 1: nothing to send" in second.stdout
    assert "social posts planned: 6 (publisher: dry-run)" in second.stdout  # no new post
    assert len(list(outbox.glob("*.eml"))) == 5
    french = next(p for p in outbox.glob("*camille*.eml")).read_bytes()
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in french
    assert not EmbeddedRedis(tmp_path / "data").is_running()
