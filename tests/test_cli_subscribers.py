"""`newsroom subscribers`, run as an editor runs it: a process on the real database and Redis."""

from __future__ import annotations

import base64
import csv
import json
import subprocess
from pathlib import Path

import redis
from sqlalchemy.orm import Session, sessionmaker

from tests.cli import SHELL_USER, audit_log, newsroom
from tests.conftest import SQLITE_ONLY
from tests.db import create_article
from worker.settings import Settings
from worker.store import editors, newsletters

pytestmark = SQLITE_ONLY


def import_csv(env: dict[str, str], file: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return newsroom(
        env, "subscribers", "import", str(file), "--newsletter", "la-matinale", *options
    )


def test_import_reports_each_rejected_line_and_imports_the_others(
    settings_env: dict[str, str], tmp_path: Path
) -> None:
    lines = [
        "email,name,language",
        "Camille@Example.org,Camille Martin,fr",
        "not-an-address,Nobody,fr",
        '"jean@example.org","Jean\r\nBcc: victim@example.org",fr',
        "camille@example.org,Camille again,fr",
        'nadia@example.org,=HYPERLINK("http://evil.example"),xx-nope',
        "zoe@example.org,Zoë Lefèvre,",
        "one@example.org,two,three,four",
    ]
    file = tmp_path / "crm.csv"
    file.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    result = import_csv(settings_env, file, "--confirmed", "--source", "CRM export, November")
    assert result.returncode == 1, result.stderr
    # line numbers are the file's lines: Jean's quoted name spans lines 4 and 5
    assert result.stderr.splitlines() == [
        f"{file}:3: An email address must have an @-sign.",
        f"{file}:6: duplicate of line 2, skipped",
        f"{file}:7: language: 'xx-nope' is not a known language",
        f"{file}:9: 4 fields, the header has 3",
    ]
    assert (
        "imported 3 (confirmed), already subscribed 0, suppressed, not imported 0, duplicates 1, "
        "rejected 3" in result.stdout
    )

    counts = json.loads(newsroom(settings_env, "subscribers", "counts", "--json").stdout)
    assert counts["la-matinale"]["confirmed"] == 3
    assert counts["morning-briefing"]["confirmed"] == 0

    exported = tmp_path / "export.csv"
    result = newsroom(
        settings_env, "subscribers", "export", "--status", "confirmed", "--output", str(exported)
    )
    assert result.returncode == 0, result.stderr
    with exported.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["email"], r["name"], r["language"], r["newsletter"], r["status"]) for r in rows] == [
        ("camille@example.org", "Camille Martin", "fr", "la-matinale", "confirmed"),
        ("jean@example.org", "Jean Bcc: victim@example.org", "fr", "la-matinale", "confirmed"),
        ("zoe@example.org", "Zoë Lefèvre", "", "la-matinale", "confirmed"),
    ]
    assert all(r["subscribed_at"].endswith("+00:00") for r in rows)


def test_unreadable_files_and_a_pending_import_that_queues_emails(
    settings_env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("email,name\na@example.org,Lefèvre\n".encode("latin-1"))
    result = import_csv(settings_env, latin1)
    assert result.returncode == 1
    assert f"{latin1}: not UTF-8: byte 0xE8 at offset 28 (line 2)" in result.stderr

    columns = tmp_path / "columns.csv"
    columns.write_text("e-mail,name\na@example.org,A\n", encoding="utf-8")
    result = import_csv(settings_env, columns)
    assert result.returncode == 1
    assert "unknown column 'e-mail' (the columns are email, name, language)" in result.stderr

    good = tmp_path / "good.csv"
    good.write_text("email\na@example.org\nb@example.org\n", encoding="utf-8")
    result = import_csv(settings_env, good)
    assert result.returncode == 0, result.stderr
    assert "imported 2 (pending, confirmation emails queued)" in result.stdout
    # published once committed, one task for the batch, waiting for a worker
    queued = redis.Redis.from_url(settings_env["REDIS_URL"]).lrange("newsroom", 0, -1)
    assert len(queued) == 1
    message = json.loads(queued[0])
    assert message["headers"]["task"] == "worker.tasks.send_confirmations"
    assert len(json.loads(base64.b64decode(message["body"]))[0][0]) == 2


def test_add_show_list_remove_and_no_way_back_by_hand(settings_env: dict[str, str]) -> None:
    def run(*args: str):
        return newsroom(settings_env, "subscribers", *args)

    added = run(
        "add",
        "Nadia@Example.org",
        "--newsletter",
        "la-matinale",
        "--name",
        "Nadia B",
        "--confirmed",
    )
    assert added.returncode == 0, added.stderr
    assert "nadia@example.org added to la-matinale (confirmed)" in added.stdout
    assert (
        "already subscribed"
        in run("add", "nadia@example.org", "--newsletter", "la-matinale").stdout
    )

    listed = json.loads(run("list", "--newsletter", "la-matinale", "--json").stdout)
    assert [(r["email"], r["name"], r["status"]) for r in listed] == [
        ("nadia@example.org", "Nadia B", "confirmed")
    ]

    removed = run("remove", "nadia@example.org")
    assert "nadia@example.org unsubscribed from every newsletter" in removed.stdout
    again = run("add", "nadia@example.org", "--newsletter", "la-matinale", "--confirmed")
    assert again.returncode == 1
    assert "is suppressed" in again.stderr

    shown = json.loads(run("show", "nadia@example.org", "--json").stdout)
    assert [(s["newsletter"], s["status"]) for s in shown["subscriptions"]] == [
        ("la-matinale", "unsubscribed")
    ]
    assert [(s["newsletter"], s["reason"]) for s in shown["suppressions"]] == [
        (None, "unsubscribed")
    ]
    assert "deliveries" not in shown
    unknown = run("remove", "nobody@example.org")
    assert unknown.returncode == 1
    assert "no subscriber nobody@example.org" in unknown.stderr
    # the person by a hash, never by address; "already subscribed" and refusals change nothing
    nadia = editors.person("nadia@example.org")
    assert audit_log(settings_env) == [
        (SHELL_USER, "subscriber.remove", nadia),
        (SHELL_USER, "subscriber.add", nadia),
    ]


def test_export_data_then_forget_and_neither_an_import_nor_a_test_send_gets_through(
    settings_env: dict[str, str],
    settings: Settings,
    sessions: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    with sessions.begin() as session:
        newsletters.sync(session, settings.file.newsletters)
        create_article(session)  # something for a test send to carry
    file = tmp_path / "list.csv"
    file.write_text("email,name\ncamille@example.org,Camille Martin\n", encoding="utf-8")
    imported = import_csv(settings_env, file, "--confirmed")
    assert imported.returncode == 0, imported.stderr

    output = tmp_path / "camille.json"
    newsroom(
        settings_env, "subscribers", "export-data", "camille@example.org", "--output", str(output)
    )
    data = json.loads(output.read_text(encoding="utf-8"))
    assert data["subscriber"]["name"] == "Camille Martin"
    assert [(c["source"], c["detail"]) for c in data["consents"]] == [
        ("import", "import: list.csv")
    ]

    forgotten = newsroom(settings_env, "subscribers", "forget", "Camille@Example.org")
    assert "camille@example.org: erased" in forgotten.stdout
    again = import_csv(settings_env, file, "--confirmed")
    assert (
        "imported 0 (confirmed), already subscribed 0, suppressed, not imported 1" in again.stdout
    )
    refused = newsroom(settings_env, "digest", "test", "la-matinale", "--to", "camille@example.org")
    assert refused.returncode == 1
    assert "not sent: camille@example.org is on the suppression list (erased)" in refused.stderr
    camille = editors.person("camille@example.org")
    assert [(action, target) for _, action, target in audit_log(settings_env)] == [
        ("subscribers.import", "la-matinale"),
        ("subscriber.forget", camille),
        ("subscriber.export-data", camille),
        ("subscribers.import", "la-matinale"),
    ]
