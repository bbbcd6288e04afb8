"""The editors' API over real HTTP: authentication, CSRF, validation, the audit log."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.db import create_article, create_subscriber
from tests.web.conftest import EditorLogin
from worker.dispatch import plan_social_posts
from worker.settings import Settings
from worker.store import newsletters

SOCIAL = """
[social.accounts.fr_x]
platform = "twitter"
language = "fr"
post_at = "now"
"""


def seed(settings: Settings, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        newsletters.sync(session, settings.file.newsletters)
        matinale = newsletters.get_by_slug(session, "la-matinale")
        create_article(session, title="« Budget 2027 » : l’Assemblée vote")
        create_subscriber(session, "camille@example.org", matinale)


def test_without_credentials_the_api_answers_401(web: httpx.Client, editor: EditorLogin) -> None:
    response = web.get("/api/newsletters")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    web.headers["Authorization"] = "Bearer nrt_not-a-token"
    assert web.get("/api/newsletters").status_code == 401


def test_an_editor_queues_a_digest_and_the_audit_log_says_who(
    api: httpx.Client, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    seed(settings, sessions)
    names = {row["name"] for row in api.get("/api/newsletters").json()}
    assert names == {"la-matinale", "morning-briefing"}
    preview = api.get("/api/newsletters/la-matinale/preview").json()
    assert "« Budget 2027 » : l’Assemblée vote" in preview["html"]
    assert preview["too_large"] is False

    queued = api.post("/api/newsletters/la-matinale/queue", json={})
    assert queued.status_code == 201, queued.text
    digest_id = queued.json()["digest_id"]
    assert queued.json()["recipients"] == 1
    assert api.post("/api/newsletters/la-matinale/queue", json={}).status_code == 409  # no news
    progress = api.get(f"/api/digests/{digest_id}").json()
    assert progress["total"] == 1

    (entry, *_) = api.get("/api/audit").json()
    assert entry["actor"] == "token:scripts (claire@lequotidien.example)"
    assert entry["action"] == "digest.queue"
    assert entry["target"] == f"digest {digest_id}"


def test_bad_input_is_a_4xx_naming_the_field(
    api: httpx.Client, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    seed(settings, sessions)
    response = api.post("/api/newsletters/la-matinale/queue", json={"at": "tomorrow"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "at"]
    naive = api.post("/api/newsletters/la-matinale/queue", json={"at": "2030-01-01T07:00"})
    assert naive.status_code == 422
    assert naive.json()["detail"].startswith("at:")
    assert api.post("/api/newsletters/nope/queue", json={}).status_code == 404
    assert api.post("/api/digests/999/pause").status_code == 404
    assert api.post("/api/digests/1/explode").status_code == 422
    bad_address = api.post("/api/newsletters/la-matinale/test", json={"to": "not an address"})
    assert bad_address.status_code == 422
    assert bad_address.json()["detail"].startswith("to:")


@pytest.mark.newsroom_config(SOCIAL)
def test_posts_are_edited_within_the_platforms_limit(
    api: httpx.Client, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        (post,) = plan_social_posts(session, settings, create_article(session))
        post_id = post.id
    counted = api.post("/api/social/count", json={"platform": "twitter", "text": "é" * 281})
    assert counted.json() == {"platform": "twitter", "length": 281, "limit": 280, "fits": False}
    emoji = api.post("/api/social/count", json={"platform": "twitter", "text": "🇫🇷 " * 10})
    assert emoji.json()["length"] == 29  # each flag weighs 2, each space 1, trailing trimmed

    too_long = api.patch(f"/api/social/posts/{post_id}", json={"text": "mot " * 100})
    assert too_long.status_code == 422
    assert too_long.json()["detail"].startswith("text: twitter: the text is")
    edited = api.patch(f"/api/social/posts/{post_id}", json={"text": "« Court » et juste"})
    assert edited.status_code == 200
    assert edited.json()["text"] == "« Court » et juste"
    moved = api.post(
        f"/api/social/posts/{post_id}/reschedule", json={"at": "2030-01-02T08:00:00+01:00"}
    )
    assert moved.json()["scheduled_at"] == "2030-01-02T07:00:00+00:00"
    assert api.post(f"/api/social/posts/{post_id}/cancel").json()["status"] == "cancelled"
    refused = api.post(f"/api/social/posts/{post_id}/cancel")
    assert refused.status_code == 409
    actions = [entry["action"] for entry in api.get("/api/audit").json()]
    assert actions == ["post.cancel", "post.reschedule", "post.edit"]


def test_a_login_session_needs_its_csrf_token_for_changes(
    web: httpx.Client, editor: EditorLogin, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    seed(settings, sessions)
    wrong = web.post("/login", data={"email": editor.email, "password": "not the password"})
    assert wrong.status_code == 401
    unknown = web.post("/login", data={"email": "nobody@example.org", "password": "whatever!"})
    assert unknown.status_code == 401
    assert unknown.text.count("Wrong email or password.") == wrong.text.count(
        "Wrong email or password."
    )
    logged = web.post(
        "/login", data={"email": editor.email, "password": editor.password, "next": "//evil"}
    )
    assert logged.status_code == 303
    assert logged.headers["location"] == "/"  # never another site
    cookie = logged.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" in cookie  # PUBLIC_BASE_URL is https; the test server speaks plain HTTP
    web.cookies.set("newsroom_session", logged.cookies["newsroom_session"])
    session = web.get("/api/session").json()
    assert session["actor"] == "editor:claire@lequotidien.example"

    assert web.post("/api/newsletters/la-matinale/queue", json={}).status_code == 403
    queued = web.post(
        "/api/newsletters/la-matinale/queue", json={}, headers={"X-CSRF-Token": session["csrf"]}
    )
    assert queued.status_code == 201

    web.post("/logout")
    assert web.get("/api/session").status_code == 401


def test_login_attempts_are_rate_limited_per_client(web: httpx.Client, editor: EditorLogin) -> None:
    codes = [
        web.post("/login", data={"email": editor.email, "password": "guess"}).status_code
        for _ in range(11)
    ]
    assert codes[:10] == [401] * 10
    assert codes[10] == 429
