"""The editors' subscriber API over real HTTP: the lists, one person, imports, exports, and
the access and erasure requests, each recorded in the audit log without the address."""

from __future__ import annotations

import base64
import csv
import io
import json

import httpx
import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from tests.db import create_subscriber
from worker.settings import Settings
from worker.store import SubscriptionStatus, address_hash, newsletters


@pytest.fixture
def lists(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """Both newsletters, with one confirmed and one pending subscriber on la-matinale."""
    with sessions.begin() as session:
        newsletters.sync(session, settings.file.newsletters)
        matinale = newsletters.get_by_slug(session, "la-matinale")
        create_subscriber(session, "camille@example.org", matinale, name="=Camille")
        create_subscriber(session, "pat@example.org", matinale, SubscriptionStatus.PENDING)


def audit_actions(api: httpx.Client) -> list[tuple[str, str]]:
    return [(entry["action"], entry["target"]) for entry in api.get("/api/audit").json()]


@pytest.mark.usefixtures("lists")
def test_list_count_and_export_the_lists(api: httpx.Client) -> None:
    rows = api.get("/api/subscribers", params={"newsletter": "la-matinale"}).json()
    assert [(row["email"], row["status"]) for row in rows] == [
        ("camille@example.org", "confirmed"),
        ("pat@example.org", "pending"),
    ]
    page = api.get("/api/subscribers", params={"status": "pending", "limit": 1, "offset": 0})
    assert [row["email"] for row in page.json()] == ["pat@example.org"]
    assert api.get("/api/subscribers", params={"limit": 1, "offset": 2}).json() == []

    counts = api.get("/api/subscribers/counts").json()
    assert counts["la-matinale"] == {
        "pending": 1,
        "confirmed": 1,
        "unsubscribed": 0,
        "bounced": 0,
        "complained": 0,
    }
    assert sum(counts["morning-briefing"].values()) == 0

    export = api.get("/api/subscribers/export", params={"newsletter": "la-matinale"})
    assert export.status_code == 200
    assert export.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="subscribers-la-matinale.csv"' in export.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(export.text)))
    assert lines[0] == ["email", "name", "language", "newsletter", "status", "subscribed_at"]
    assert lines[1][:2] == ["camille@example.org", "'=Camille"]  # never a formula
    assert len(lines) == 3
    assert ("subscribers.export", "la-matinale") in audit_actions(api)

    for bad in ({"newsletter": "nope"}, {"status": "gone"}, {"limit": 0}, {"offset": -1}):
        assert api.get("/api/subscribers", params=bad).status_code in (404, 422), bad


@pytest.mark.usefixtures("lists")
def test_add_look_up_and_remove_one_person(api: httpx.Client, settings: Settings) -> None:
    added = api.post(
        "/api/subscribers",
        json={"email": " Lou@Example.ORG ", "newsletter": "morning-briefing", "name": "Lou"},
    )
    assert added.status_code == 201, added.text
    assert added.json() == {
        "email": "lou@example.org",
        "newsletter": "morning-briefing",
        "status": "pending",
    }
    # the confirmation email waits for a worker, published once the row was committed
    (message,) = redis.Redis.from_url(settings.redis_url).lrange("newsroom", 0, -1)
    message = json.loads(message)
    assert message["headers"]["task"] == "worker.tasks.send_confirmations"
    assert len(json.loads(base64.b64decode(message["body"]))[0][0]) == 1
    again = {"email": "lou@example.org", "newsletter": "morning-briefing"}
    assert api.post("/api/subscribers", json=again).json()["status"] == "already subscribed"

    found = api.post("/api/subscribers/lookup", json={"email": "lou@example.org"}).json()
    assert found["subscriber"]["name"] == "Lou"
    assert [(s["newsletter"], s["status"]) for s in found["subscriptions"]] == [
        ("morning-briefing", "pending")
    ]
    removed = api.post("/api/subscribers/remove", json={"email": "lou@example.org"})
    assert removed.json() == {"email": "lou@example.org", "unsubscribed_from": "every newsletter"}
    # gone for good: neither the API nor an import brings the address back
    refused = api.post("/api/subscribers", json={**again, "confirmed": True})
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("email: suppressed")

    person = f"subscriber {address_hash('lou@example.org')[:16]}"
    assert ("subscriber.add", person) in audit_actions(api)
    assert ("subscriber.remove", person) in audit_actions(api)


@pytest.mark.usefixtures("lists")
def test_refusals_name_the_field(api: httpx.Client) -> None:
    cases = [
        ("/api/subscribers", {"email": "no-at-sign", "newsletter": "la-matinale"}, 422, "email:"),
        (
            "/api/subscribers",
            {"email": "a@example.org", "newsletter": "nope"},
            404,
            "no newsletter",
        ),
        (
            "/api/subscribers",
            {"email": "a@example.org", "newsletter": "la-matinale", "name": "A" * 301},
            422,
            "name:",
        ),
        ("/api/subscribers/lookup", {"email": "nobody@example.org"}, 404, "email: no subscriber"),
        ("/api/subscribers/remove", {"email": "nobody@example.org"}, 404, "email: no subscriber"),
        ("/api/subscribers/forget", {"email": "@example.org"}, 422, "email:"),
    ]
    for path, body, status, detail in cases:
        response = api.post(path, json=body)
        assert response.status_code == status, (path, body, response.text)
        assert response.json()["detail"].startswith(detail), response.text


@pytest.mark.usefixtures("lists")
def test_import_reports_each_rejected_line_and_keeps_suppressed_addresses_out(
    api: httpx.Client,
) -> None:
    api.post("/api/subscribers/remove", json={"email": "camille@example.org"})
    upload = (
        "email,name\n"
        "new@example.org,Élodie\n"
        "not-an-address,X\n"
        "NEW@example.org,again\n"
        "camille@example.org,Camille\n"
        "pat@example.org,Pat\n"
    ).encode()
    response = api.post(
        "/api/subscribers/import",
        files={"file": ("list.csv", upload, "text/csv")},
        data={"newsletter": "la-matinale", "confirmed": "true", "source": "salon du livre"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert {key: report[key] for key in ("imported", "already", "suppressed")} == {
        "imported": 1,
        "already": 1,
        "suppressed": 1,
    }
    assert (report["rejected"], report["duplicates"]) == (1, 1)
    assert [problem["line"] for problem in report["problems"]] == [3, 4]
    assert report["problems"][1]["reason"] == "duplicate of line 2, skipped"
    camille = api.post("/api/subscribers/lookup", json={"email": "camille@example.org"}).json()
    assert camille["subscriptions"][0]["status"] == "unsubscribed"

    latin1 = api.post(
        "/api/subscribers/import",
        files={"file": ("latin1.csv", "email,name\na@example.org,Lefèvre\n".encode("latin-1"))},
        data={"newsletter": "la-matinale"},
    )
    assert latin1.status_code == 422
    assert latin1.json()["detail"].startswith("file: not UTF-8: byte 0xE8 at offset 28 (line 2)")
    unknown = api.post(
        "/api/subscribers/import",
        files={"file": ("a.csv", b"email\na@example.org\n")},
        data={"newsletter": "nope"},
    )
    assert unknown.status_code == 404
    assert ("subscribers.import", "la-matinale") in audit_actions(api)


@pytest.mark.usefixtures("lists")
def test_an_import_too_large_is_refused_whole(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("worker.web._api_subscribers.MAX_IMPORT_BYTES", 64)
    lines = "email\n" + "".join(f"reader{n}@example.org\n" for n in range(10))
    response = api.post(
        "/api/subscribers/import",
        files={"file": ("big.csv", lines.encode())},
        data={"newsletter": "morning-briefing", "confirmed": "true"},
    )
    assert response.status_code == 413
    assert response.json()["detail"].startswith("file: larger than")
    assert api.get("/api/subscribers", params={"newsletter": "morning-briefing"}).json() == []


@pytest.mark.usefixtures("lists")
def test_an_access_request_then_an_erasure_that_leaves_no_address_behind(
    api: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    data = api.post("/api/subscribers/export-data", json={"email": "camille@example.org"})
    assert data.status_code == 200
    assert data.json()["subscriber"]["name"] == "=Camille"
    assert data.json()["consents"] is not None

    erased = api.post("/api/subscribers/forget", json={"email": "camille@example.org"})
    assert erased.json() == {"email": "camille@example.org", "erased": True}
    after = api.post("/api/subscribers/lookup", json={"email": "camille@example.org"}).json()
    assert after["subscriber"] is None
    assert [row["reason"] for row in after["suppressions"]] == ["erased"]
    back = {"email": "camille@example.org", "newsletter": "la-matinale", "confirmed": True}
    assert api.post("/api/subscribers", json=back).status_code == 409

    log = json.dumps(api.get("/api/audit").json())
    assert "camille" not in log
    assert "subscriber.forget" in log
