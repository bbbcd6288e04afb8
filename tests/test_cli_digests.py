"""The editor's digest commands, run as processes against the real database, Redis and SMTP."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from tests.cli import SHELL_USER, audit_log, newsroom
from tests.conftest import SQLITE_ONLY, SmtpSink
from tests.db import create_article, create_subscriber
from worker.settings import Settings
from worker.store import newsletters

pytestmark = SQLITE_ONLY


def seed(settings: Settings, sessions: sessionmaker[Session], *, summary: str = "Résumé.") -> None:
    with sessions.begin() as session:
        newsletters.sync(session, settings.file.newsletters)
        matinale = newsletters.get_by_slug(session, "la-matinale")
        for n in range(1, 4):
            create_article(session, n, summary=summary)
        create_subscriber(session, "camille@example.org", matinale)
        create_subscriber(session, "jean@example.org", matinale)


def test_newsletters_list_as_json(
    settings_env: dict[str, str], settings: Settings, sessions
) -> None:
    seed(settings, sessions)
    result = newsroom(settings_env, "newsletters", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["la-matinale"]["language"] == "fr"
    assert rows["morning-briefing"]["language"] == "en"
    assert rows["la-matinale"]["subscribers"]["confirmed"] == 2


def test_preview_writes_the_html_and_reports_its_size(
    settings_env: dict[str, str],
    settings: Settings,
    sessions,
    tmp_path: Path,
) -> None:
    seed(settings, sessions)
    html = tmp_path / "preview.html"
    result = newsroom(
        settings_env, "digest", "preview", "la-matinale", "--html", str(html), "--text"
    )
    assert result.returncode == 0, result.stderr
    assert "KB of 102 KB" in result.stdout
    assert "« Article 3 » : l’essentiel" in result.stdout  # the text part
    assert "Se désabonner" in html.read_text(encoding="utf-8")


def test_a_digest_over_gmails_limit_is_refused_unless_forced(
    settings_env: dict[str, str],
    settings: Settings,
    sessions,
) -> None:
    seed(settings, sessions, summary="Un résumé très long. " * 2500)
    preview = newsroom(settings_env, "digest", "preview", "la-matinale")
    assert "Gmail will clip it" in preview.stdout
    refused = newsroom(settings_env, "digest", "queue", "la-matinale")
    assert refused.returncode == 1
    assert "over Gmail's 102 KB clipping limit" in refused.stderr
    forced = newsroom(settings_env, "digest", "queue", "la-matinale", "--force")
    assert forced.returncode == 0, forced.stderr


def test_test_send_reaches_only_the_editor(
    settings_env: dict[str, str],
    settings: Settings,
    sessions,
    smtp_server: SmtpSink,
) -> None:
    seed(settings, sessions)
    result = newsroom(settings_env, "digest", "test", "la-matinale", "--to", "Editor@Example.org")
    assert result.returncode == 0, result.stderr
    assert smtp_server.per_recipient() == {"editor@example.org": 1}
    assert smtp_server.messages[0][1]["Subject"].startswith("[TEST] ")
    assert audit_log(settings_env) == [(SHELL_USER, "digest.test", "la-matinale")]
    bad = newsroom(settings_env, "digest", "test", "la-matinale", "--to", "not an address")
    assert bad.returncode == 2
    assert "--to:" in bad.stderr


def test_queue_later_status_pause_and_cancel(
    settings_env: dict[str, str],
    settings: Settings,
    sessions,
) -> None:
    seed(settings, sessions)
    queued = newsroom(settings_env, "digest", "queue", "la-matinale", "--at", "2099-01-01T07:00")
    assert queued.returncode == 0, queued.stderr
    assert "queued for 2099-01-01T07:00:00+01:00 for 2 subscribers" in queued.stdout
    digest_id = queued.stdout.split()[1]

    status = json.loads(newsroom(settings_env, "digest", "status", digest_id, "--json").stdout)
    assert status["status"] == "queued"
    assert (status["total"], status["pending"], status["sent"]) == (2, 2, 0)

    assert "paused" in newsroom(settings_env, "digest", "pause", digest_id).stdout
    resumed = newsroom(settings_env, "digest", "resume", digest_id)
    assert "queued" in resumed.stdout  # paused before its time: back in the queue
    assert "cancelled" in newsroom(settings_env, "digest", "cancel", digest_id).stdout
    again = newsroom(settings_env, "digest", "cancel", digest_id)
    assert again.returncode == 1
    assert "cannot cancel" in again.stderr
    listed = json.loads(newsroom(settings_env, "digest", "status", "--json").stdout)
    assert [(row["id"], row["status"], row["cancelled"]) for row in listed] == [
        (int(digest_id), "cancelled", 2)
    ]
    # what changed, and who from which host; not the refused second cancel
    assert audit_log(settings_env) == [
        (SHELL_USER, f"digest.{action}", f"digest {digest_id}")
        for action in ("cancel", "resume", "pause", "queue")
    ]


def test_unknown_newsletter_and_bad_time(settings_env: dict[str, str], settings: Settings) -> None:
    unknown = newsroom(settings_env, "digest", "queue", "la-soiree")
    assert unknown.returncode == 2
    assert (
        "unknown newsletter 'la-soiree' (configured: la-matinale, morning-briefing)"
        in unknown.stderr
    )
    bad_time = newsroom(settings_env, "digest", "queue", "la-matinale", "--at", "tomorrow")
    assert bad_time.returncode == 2
    assert "--at: 'tomorrow' is not an ISO 8601 time" in bad_time.stderr
