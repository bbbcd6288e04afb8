"""The editors' pages over real HTTP: behind a login, each shows what it should, and a form
without its CSRF token changes nothing."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import SmtpSink
from tests.db import create_article, create_subscriber
from tests.web.conftest import EditorLogin
from worker.digests import GMAIL_CLIP_BYTES
from worker.settings import Settings
from worker.social import edited_text
from worker.store import (
    Digest,
    SocialAccountStatus,
    SocialPost,
    digests,
    editors,
    newsletters,
    utcnow,
)
from worker.store import social as social_posts
from worker.store.editors import person
from worker.web._auth import SESSION_COOKIE

# Two accounts in Paris time, next to tests/newsroom.test.toml's test_x (UTC).
ACCOUNTS = """
[social.accounts.paris_x]
platform = "twitter"
slots = { times = ["08:00"], timezone = "Europe/Paris" }

[social.accounts.paris_li]
platform = "linkedin"
author_urn = "urn:li:organization:2414183"
slots = { times = ["09:00"], timezone = "Europe/Paris" }
"""
pytestmark = pytest.mark.newsroom_config(ACCOUNTS)

TITLE = "« Budget 2027 » : l’Assemblée vote"
LINK = "https://www.lequotidien.example/politique/budget-2027"
PAGES = ["/", "/newsletters/la-matinale/preview", "/digests/1", "/social"]


@dataclass(frozen=True)
class Seeded:
    x_post: int
    linkedin_post: int
    tomorrow: datetime  # the X post's time; LinkedIn's is an hour later


def seed(settings: Settings, sessions: sessionmaker[Session], subscribers: int = 2) -> Seeded:
    """An article, La Matinale's readers, and a planned post tomorrow on each Paris account;
    test_x needs authorizing again."""
    tomorrow = utcnow().replace(hour=7, minute=0, second=0, microsecond=0) + timedelta(days=1)
    with sessions.begin() as session:
        newsletters.sync(session, settings.file.newsletters)
        matinale = newsletters.get_by_slug(session, "la-matinale")
        article = create_article(session, title=TITLE, url=LINK)
        for n in range(subscribers):
            create_subscriber(session, f"reader{n:03}@example.org", matinale)
        accounts = social_posts.sync_accounts(session, settings.file.social.accounts)
        accounts["test_x"].status = SocialAccountStatus.NEEDS_REAUTH
        accounts["test_x"].last_error = "401 Unauthorized: the token was revoked"
        x_post = SocialPost(
            account=accounts["paris_x"],
            article=article,
            text=f"{TITLE}\n{LINK} #politique",
            link=LINK,
            scheduled_at=tomorrow,
        )
        linkedin_post = SocialPost(
            account=accounts["paris_li"],
            article=article,
            text=edited_text("linkedin", f"{TITLE} (vote final) #politique")[0],
            link=LINK,
            scheduled_at=tomorrow + timedelta(hours=1),
        )
        session.add_all([x_post, linkedin_post])
        session.flush()
        return Seeded(x_post.id, linkedin_post.id, tomorrow)


def log_in(web: httpx.Client, editor: EditorLogin) -> str:
    """Log in through the form; returns the session's CSRF token. The cookie is Secure
    (PUBLIC_BASE_URL is https), which a client keeps from plain http, so it is set here."""
    response = web.post("/login", data={"email": editor.email, "password": editor.password})
    assert response.status_code == 303, response.text
    web.cookies.set(SESSION_COOKIE, response.cookies[SESSION_COOKIE])
    return str(web.get("/api/session").json()["csrf"])


@pytest.mark.parametrize("path", PAGES)
def test_a_page_sends_a_visitor_without_a_session_to_the_login(
    web: httpx.Client, path: str
) -> None:
    response = web.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


def test_the_dashboard_shows_what_needs_an_editor(
    web: httpx.Client, editor: EditorLogin, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    seed(settings, sessions)
    log_in(web, editor)
    page = web.get("/")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert TITLE in text  # the latest article and the upcoming post
    assert 'href="/newsletters/la-matinale/preview"' in text
    assert "The Morning Briefing" in text
    assert "token was revoked" in text  # test_x needs attention
    assert "paris_x" in text
    assert '<meta name="csrf-token"' in text
    assert web.get("/static/newsroom.css").status_code == 200


def test_the_preview_shows_the_email_its_size_and_the_forms(
    web: httpx.Client, editor: EditorLogin, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    seed(settings, sessions)
    csrf = log_in(web, editor)
    page = web.get("/newsletters/la-matinale/preview")
    assert page.status_code == 200
    assert page.text.count("<iframe") == 2
    assert 'class="desktop"' in page.text
    assert 'class="mobile"' in page.text
    assert "of 102 KB" in page.text
    assert "Gmail clips" not in page.text
    # the email sits in srcdoc, escaped, with a sample reader's values in place of markers
    assert 'srcdoc="&lt;!DOCTYPE html&gt;' in page.text
    assert "[[" not in page.text
    assert f'name="csrf" value="{csrf}"' in page.text

    missing = web.get("/newsletters/nope/preview")
    assert missing.status_code == 404
    assert "no newsletter" in html.unescape(missing.text)


def test_an_edition_over_gmails_limit_is_flagged(
    web: httpx.Client, editor: EditorLogin, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        newsletters.sync(session, settings.file.newsletters)
        for n in range(5):
            create_article(session, n, summary="Un long résumé. " * (GMAIL_CLIP_BYTES // 60))
    log_in(web, editor)
    page = web.get("/newsletters/la-matinale/preview")
    assert page.status_code == 200
    assert "Gmail clips this email" in page.text
    assert 'name="force"' in page.text


def test_a_test_copy_goes_to_the_address_typed(
    web: httpx.Client,
    editor: EditorLogin,
    settings: Settings,
    sessions: sessionmaker[Session],
    smtp_server: SmtpSink,
) -> None:
    seed(settings, sessions)
    csrf = log_in(web, editor)
    sent = web.post(
        "/newsletters/la-matinale/test", data={"csrf": csrf, "to": "claire@lequotidien.example"}
    )
    assert sent.status_code == 303
    page = web.get(sent.headers["location"])
    assert "A test copy went to claire@lequotidien.example" in page.text
    [(recipients, message)] = smtp_server.messages
    assert recipients == ["claire@lequotidien.example"]
    with sessions.begin() as session:
        (entry,) = editors.audit_log(session, 10)
        assert (entry.action, entry.target) == ("digest.test", "la-matinale")
        # the person by a hash, never the address, which erasing them must not leave behind
        assert entry.as_dict()["detail"] == {"to": person("claire@lequotidien.example")}
    assert "[TEST]" in message["Subject"]

    refused = web.post("/newsletters/la-matinale/test", data={"csrf": csrf, "to": "not an address"})
    assert refused.status_code == 422
    assert "to:" in refused.text


def test_queueing_leads_to_the_progress_page(
    web: httpx.Client, editor: EditorLogin, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    seed(settings, sessions, subscribers=3)
    csrf = log_in(web, editor)
    queued = web.post("/newsletters/la-matinale/queue", data={"csrf": csrf})
    assert queued.status_code == 303
    location = queued.headers["location"]
    assert location.startswith("/digests/")
    page = web.get(location)
    assert page.status_code == 200
    assert "Digest #1: La Matinale" in page.text
    assert '<progress id="bar"' in page.text
    assert '<dd data-field="total">3</dd>' in page.text
    assert "Nothing unusual." in page.text
    assert web.get("/digests/999999").status_code == 404

    # what delayed it, as the worker and the sweeper record it, on the page and in the API
    with sessions.begin() as session:
        digests.record_event(session, 1, "10 messages deferred (421 busy); attempt 2 of 9 in 10 s")
    page = web.get(location)
    assert "10 messages deferred (421 busy); attempt 2 of 9 in 10 s" in page.text
    assert "Nothing unusual." not in page.text
    (event,) = web.get("/api/digests/1").json()["events"]
    assert event["message"] == "10 messages deferred (421 busy); attempt 2 of 9 in 10 s"


def test_a_form_without_its_csrf_token_is_refused(
    web: httpx.Client, editor: EditorLogin, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    seed(settings, sessions)
    log_in(web, editor)
    refused = web.post("/newsletters/la-matinale/queue", data={})
    assert refused.status_code == 403
    forged = web.post("/newsletters/la-matinale/queue", data={"csrf": "guessed"})
    assert forged.status_code == 403
    with sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(Digest)) == 0


def test_the_social_calendar_shows_each_post_as_its_platform_would(
    web: httpx.Client, editor: EditorLogin, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    seeded = seed(settings, sessions)
    log_in(web, editor)
    page = web.get("/social")
    assert page.status_code == 200
    text = html.unescape(page.text)
    for account in ("paris_x", "paris_li", "test_x"):
        assert f'<th scope="col">{account}<br>' in text
    assert "Europe/Paris" in text
    assert f'data-post="{seeded.x_post}" data-platform="twitter"' in text
    assert 'class="post post-linkedin"' in text
    # LinkedIn's escaped "little text" reads as its readers see it, and edits as typed
    assert f"{TITLE} (vote final) #politique" in text
    assert "\\(" not in text
    paris = seeded.tomorrow.astimezone(ZoneInfo("Europe/Paris"))
    assert f">{paris:%H:%M}</time>" in text  # 07:00 UTC, shown in Paris time
    assert f'<th scope="row">{paris:%a %d %b %Y}</th>' in text
    assert 'type="datetime-local"' in text
