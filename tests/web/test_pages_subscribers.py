"""The editors' subscriber pages over real HTTP: the lists and their pages, a person found
by address, and the forms that add, import, unsubscribe, export and erase."""

from __future__ import annotations

import html
import json

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import SQLITE_ONLY
from tests.db import create_subscriber
from tests.web.conftest import EditorLogin
from tests.web.test_pages import log_in
from worker.settings import Settings
from worker.store import SubscriptionStatus, newsletters
from worker.web._pages_subscribers import PAGE_SIZE

pytestmark = SQLITE_ONLY


@pytest.fixture
def csrf(
    web: httpx.Client, editor: EditorLogin, settings: Settings, sessions: sessionmaker[Session]
) -> str:
    """A logged-in editor, and la-matinale with PAGE_SIZE + 2 readers (one unsubscribed)."""
    with sessions.begin() as session:
        newsletters.sync(session, settings.file.newsletters)
        matinale = newsletters.get_by_slug(session, "la-matinale")
        for n in range(PAGE_SIZE + 1):
            create_subscriber(session, f"reader{n:03}@example.org", matinale)
        create_subscriber(session, "gone@example.org", matinale, SubscriptionStatus.UNSUBSCRIBED)
    return log_in(web, editor)


def test_the_lists_page_counts_filters_and_pages(web: httpx.Client, csrf: str) -> None:
    page = web.get("/subscribers")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert '<a href="/subscribers?newsletter=la-matinale&status=confirmed">51</a>' in text
    assert text.count("@example.org</td>") == PAGE_SIZE
    assert 'href="/subscribers?page=2" rel="next"' in text
    assert 'aria-current="page">Subscribers' in text

    second = html.unescape(web.get("/subscribers?page=2").text)
    assert second.count("@example.org</td>") == 2
    assert 'rel="next"' not in second
    assert 'href="/subscribers?page=1" rel="prev"' in second

    gone = html.unescape(web.get("/subscribers?newsletter=la-matinale&status=unsubscribed").text)
    assert "gone@example.org" in gone
    assert "reader000@example.org" not in gone
    assert "/api/subscribers/export?newsletter=la-matinale&status=unsubscribed" in gone
    export = web.get("/api/subscribers/export?newsletter=la-matinale&status=unsubscribed")
    assert export.text.splitlines()[1].startswith("gone@example.org,")

    unknown = web.get("/subscribers?newsletter=nope")
    assert unknown.status_code == 404
    assert "no newsletter" in html.unescape(unknown.text)


def test_find_add_unsubscribe_export_and_erase_a_person(web: httpx.Client, csrf: str) -> None:
    added = web.post(
        "/subscribers/add",
        data={
            "csrf": csrf,
            "email": "lou@example.org",
            "newsletter": "morning-briefing",
            "name": "Lou",
            "confirmed": "true",
        },
    )
    assert added.status_code == 200, added.text
    text = html.unescape(added.text)
    assert "lou@example.org: confirmed on morning-briefing." in text
    assert "<h1>lou@example.org</h1>" in text

    removed = web.post(
        "/subscribers/remove",
        data={"csrf": csrf, "email": "lou@example.org", "newsletter": "morning-briefing"},
    )
    assert "Unsubscribed from morning-briefing." in html.unescape(removed.text)
    assert "status-unsubscribed" in removed.text

    data = web.post("/subscribers/export-data", data={"csrf": csrf, "email": "lou@example.org"})
    assert data.headers["content-disposition"] == 'attachment; filename="subscriber-data.json"'
    assert json.loads(data.text)["subscriber"]["name"] == "Lou"

    unticked = web.post("/subscribers/forget", data={"csrf": csrf, "email": "lou@example.org"})
    assert unticked.status_code == 422
    assert "Tick the box" in unticked.text
    erased = web.post(
        "/subscribers/forget", data={"csrf": csrf, "email": "lou@example.org", "understood": "true"}
    )
    assert "lou@example.org: erased." in html.unescape(erased.text)
    found = html.unescape(
        web.post("/subscribers/find", data={"csrf": csrf, "email": "lou@example.org"}).text
    )
    assert "No subscriber holds this address." in found
    assert "every newsletter: erased" in found

    nobody = web.post("/subscribers/find", data={"csrf": csrf, "email": "nobody@example.org"})
    assert nobody.status_code == 404
    bad = web.post("/subscribers/find", data={"csrf": csrf, "email": "not an address"})
    assert bad.status_code == 422
    assert "email:" in bad.text


def test_an_import_shows_each_line_not_imported(web: httpx.Client, csrf: str) -> None:
    upload = "email,name\nnew@example.org,Élodie\nnot-an-address,X\ngone@example.org,G\n"
    page = web.post(
        "/subscribers/import",
        data={"csrf": csrf, "newsletter": "la-matinale", "confirmed": "true"},
        files={"file": ("salon.csv", upload.encode())},
    )
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert "Imported salon.csv into la-matinale" in text
    assert "<dt>Imported</dt><dd>1</dd>" in text
    assert "<dt>Suppressed, not imported</dt><dd>1</dd>" in text
    assert "<tr><td>3</td><td>" in text


def test_a_subscriber_form_without_its_csrf_token_changes_nothing(
    web: httpx.Client, csrf: str
) -> None:
    refused = web.post(
        "/subscribers/forget", data={"email": "reader000@example.org", "understood": "true"}
    )
    assert refused.status_code == 403
    still = web.post("/subscribers/find", data={"csrf": csrf, "email": "reader000@example.org"})
    assert "status-confirmed" in still.text
