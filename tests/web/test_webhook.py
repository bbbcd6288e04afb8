"""The CMS webhook over real HTTP: signature, freshness, replay, idempotency, bad input."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from worker.store import Article, ArticleEvent
from worker.web._webhook import WebhookRefused, signature, verify

SECRET = "webhook-secret-for-tests"
ARTICLE = {
    "url": "https://www.lequotidien.fr/politique/budget-2027",
    "title": "« Budget 2027 » : l’Assemblée adopte le texte",
    "summary": "Les députés ont voté.",
    "published_at": "2026-11-24T07:45:00+01:00",
    "language": "fr",
    "tags": ["politique"],
}


@pytest.fixture
def settings_env(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    settings_env["WEBHOOK_SECRET"] = SECRET
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    return settings_env


def signed(body: bytes, *, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    timestamp = str(at if at is not None else int(time.time()))
    return {
        "Content-Type": "application/json",
        "X-Newsroom-Timestamp": timestamp,
        "X-Newsroom-Signature": signature(secret, timestamp, body),
    }


def counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions.begin() as session:
        articles = session.scalar(select(func.count()).select_from(Article))
        events = session.scalar(select(func.count()).select_from(ArticleEvent))
        return articles or 0, events or 0


def test_a_signed_article_is_stored_once_however_often_it_is_pushed(
    web: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    body = json.dumps(ARTICLE, ensure_ascii=False).encode()
    first = web.post("/api/articles", content=body, headers=signed(body))
    assert first.status_code == 200, first.text
    assert first.json() == {"imported": 1, "updated": 0, "unchanged": 0, "rejected": []}
    # the CMS retries (a new signature, a second later): the same article, one event
    second = web.post("/api/articles", content=body, headers=signed(body, at=int(time.time()) + 1))
    assert second.json()["unchanged"] == 1
    edited = json.dumps({**ARTICLE, "summary": "Les députés ont voté, de justesse."}).encode()
    third = web.post("/api/articles", content=edited, headers=signed(edited))
    assert third.json()["updated"] == 1
    assert counts(sessions) == (1, 1)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (lambda body: {}, "are required"),
        (lambda body: signed(body, secret="another-secret"), "does not match the body"),
        (lambda body: signed(body + b" "), "does not match the body"),
        (lambda body: signed(body, at=int(time.time()) - 330), "outside the 5-minute window"),
        (lambda body: signed(body, at=int(time.time()) + 330), "outside the 5-minute window"),
        (lambda body: {**signed(body), "X-Newsroom-Timestamp": "soon"}, "not Unix seconds"),
        (
            lambda body: {**signed(body), "X-Newsroom-Signature": "sha256=é".encode("latin-1")},
            "does not match",
        ),
    ],
)
def test_an_unsigned_or_stale_request_is_refused_and_changes_nothing(
    web: httpx.Client, sessions: sessionmaker[Session], headers, reason: str
) -> None:
    body = json.dumps(ARTICLE).encode()
    response = web.post("/api/articles", content=body, headers=headers(body))
    assert response.status_code == 401
    assert reason in response.json()["detail"]
    assert counts(sessions) == (0, 0)


def test_a_replayed_request_is_refused(web: httpx.Client, sessions: sessionmaker[Session]) -> None:
    body = json.dumps(ARTICLE).encode()
    headers = signed(body)
    assert web.post("/api/articles", content=body, headers=headers).status_code == 200
    replay = web.post("/api/articles", content=body, headers=headers)
    assert replay.status_code == 401
    assert "already used" in replay.json()["detail"]


def test_a_signed_but_invalid_article_is_a_422_naming_the_field(
    web: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    body = json.dumps({**ARTICLE, "published_at": "yesterday"}).encode()
    response = web.post("/api/articles", content=body, headers=signed(body))
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert "field 'published_at'" in error
    malformed = b'{"url": '
    response = web.post("/api/articles", content=malformed, headers=signed(malformed))
    assert response.status_code == 422
    assert "malformed JSON" in response.json()["errors"][0]
    assert counts(sessions) == (0, 0)


def test_without_a_configured_secret_every_request_is_refused(redis_url: str) -> None:
    body = json.dumps(ARTICLE).encode()
    headers = signed(body, secret="")
    with pytest.raises(WebhookRefused, match="not configured"):
        verify(
            None,
            headers["X-Newsroom-Timestamp"],
            headers["X-Newsroom-Signature"],
            body,
            redis.Redis.from_url(redis_url),
        )
