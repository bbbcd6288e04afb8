"""The editor's social commands, run as processes against the real database and Redis."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from tests.cli import SHELL_USER, audit_log, newsroom
from tests.conftest import SQLITE_ONLY
from tests.db import create_article
from tests.social.conftest import timer
from worker.dispatch import plan_social_posts
from worker.settings import Settings
from worker.store import SocialPostStatus
from worker.store import social as social_posts

ACCOUNTS = """
[social.accounts.fr_x]
platform = "twitter"
language = "fr"
slots = { times = ["08:00", "12:30", "18:00"], timezone = "Europe/Paris" }
prices = { currency = "USD", post = 0.015, post_with_url = 0.2 }

[social.accounts.fr_facebook]
platform = "facebook"
language = "fr"
page_id = "100000000000001"
slots = { times = ["09:00"], timezone = "Europe/Paris" }

[social.accounts.fr_linkedin]
platform = "linkedin"
language = "fr"
author_urn = "urn:li:organization:1000001"
slots = { times = ["08:30"], timezone = "Europe/Paris" }
"""
# A real top-level domain: twitter-text (like X) does not take *.example for a URL.
ARTICLE_URL = "https://www.lequotidien.fr/politique/article-1"
TITLE = "« Budget 2027 » : l’Assemblée adopte le texte 🇫🇷"

pytestmark = [SQLITE_ONLY, pytest.mark.newsroom_config(ACCOUNTS)]


def seed(sessions: sessionmaker[Session], **values: object) -> int:
    with sessions.begin() as session:
        return create_article(
            session,
            url=ARTICLE_URL,
            title=TITLE,
            summary="Le projet de la loi de finances (PLF) passe.",
            tags=["budget", "assemblée nationale"],
            **values,
        ).id


def test_preview_shows_every_post_with_its_time_and_xs_cost(
    settings_env: dict[str, str], settings: Settings, sessions: sessionmaker[Session]
) -> None:
    article_id = seed(sessions)
    result = newsroom(settings_env, "social", "preview", ARTICLE_URL, "--json")
    assert result.returncode == 0, result.stderr
    posts = {row["platform"]: row for row in json.loads(result.stdout)}
    assert set(posts) == {"twitter", "facebook", "linkedin"}
    for row in posts.values():
        assert {"platform", "account", "text", "link", "scheduled_at"} <= set(row)
        assert datetime.fromisoformat(row["scheduled_at"]).utcoffset() is not None
        assert "utm_medium=social" in row["link"]
    x = posts["twitter"]
    assert "« Budget 2027 » : l’Assemblée adopte le texte 🇫🇷" in x["text"]
    assert 0 < x["weighted_length"] <= 280
    assert x["cost"] == 0.2  # it carries the link
    assert x["day_total"] == 0.2
    assert r"la loi de finances \(PLF\) passe" in posts["linkedin"]["text"]  # escaped
    # by id, in the terminal's words
    result = newsroom(settings_env, "social", "preview", str(article_id))
    assert result.returncode == 0, result.stderr
    assert "fr_x (twitter) · not planned yet" in result.stdout
    assert "0.200 USD" in result.stdout
    # an article no account speaks: said so, not an empty answer
    with sessions.begin() as session:
        german = create_article(session, 2, language="de").id
    nobody = newsroom(settings_env, "social", "preview", str(german))
    assert nobody.returncode == 0, nobody.stderr
    assert "no post: no account posts articles in 'de'" in nobody.stdout


def test_an_unknown_article_is_named(settings_env: dict[str, str], settings: Settings) -> None:
    result = newsroom(settings_env, "social", "preview", "https://nowhere.example/a")
    assert result.returncode == 2
    assert "no article 'https://nowhere.example/a'" in result.stderr


def test_share_links_carry_the_composed_text_and_their_own_utm(
    settings_env: dict[str, str], settings: Settings, sessions: sessionmaker[Session]
) -> None:
    seed(sessions)
    result = newsroom(settings_env, "social", "share-links", ARTICLE_URL, "--json")
    assert result.returncode == 0, result.stderr
    links = {row["network"]: row for row in json.loads(result.stdout)}
    assert set(links) == {"x", "facebook", "linkedin", "copy"}
    assert TITLE in links["x"]["text"]
    assert "utm_source%3Dx%26utm_medium%3Dsocial" in links["x"]["url"]  # inside url=
    assert links["copy"]["url"].startswith(ARTICLE_URL + "?")


def test_queue_edit_reschedule_and_cancel(
    settings_env: dict[str, str],
    settings: Settings,
    sessions: sessionmaker[Session],
    redis_url: str,
) -> None:
    with sessions.begin() as session:
        article = create_article(session, url=ARTICLE_URL, title=TITLE)
        ids = {p.account.name: p.id for p in plan_social_posts(session, settings, article)}
    result = newsroom(settings_env, "social", "queue", "--account", "fr_x", "--json")
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert row["id"] == ids["fr_x"]
    assert row["status"] == "planned"
    assert row["cost"] == 0.2

    too_long = "mot " * 100
    result = newsroom(settings_env, "social", "edit", str(ids["fr_x"]), "--text", too_long)
    assert result.returncode == 1
    assert "280" in result.stderr

    result = newsroom(
        settings_env, "social", "edit", str(ids["fr_x"]), "--text", "Sans lien : « court »"
    )
    assert result.returncode == 0, result.stderr
    result = newsroom(
        settings_env,
        "social",
        "reschedule",
        str(ids["fr_linkedin"]),
        "--at",
        "2030-01-02T10:15",
    )
    assert result.returncode == 0, result.stderr
    assert "planned at 2030-01-02T10:15:00+01:00" in result.stdout
    result = newsroom(settings_env, "social", "cancel", str(ids["fr_facebook"]))
    assert result.returncode == 0, result.stderr

    with sessions.begin() as session:
        x = social_posts.get_post(session, ids["fr_x"])
        assert x is not None
        assert x.text == "Sans lien : « court »"
        facebook = social_posts.get_post(session, ids["fr_facebook"])
        assert facebook is not None
        assert facebook.status is SocialPostStatus.CANCELLED
    due = timer(redis.Redis.from_url(redis_url))
    assert ids["fr_facebook"] not in due
    assert (
        due[ids["fr_linkedin"]] == datetime.fromisoformat("2030-01-02T09:15:00+00:00").timestamp()
    )

    result = newsroom(settings_env, "social", "queue", "--account", "fr_x", "--json")
    assert json.loads(result.stdout)[0]["cost"] == 0.015  # no link any more: the cheap rate
    result = newsroom(settings_env, "social", "cancel", str(ids["fr_facebook"]))
    assert result.returncode == 1
    assert "is cancelled: cancel applies to" in result.stderr
    assert audit_log(settings_env) == [
        (SHELL_USER, "post.cancel", f"post {ids['fr_facebook']}"),
        (SHELL_USER, "post.reschedule", f"post {ids['fr_linkedin']}"),
        (SHELL_USER, "post.edit", f"post {ids['fr_x']}"),
    ]


def test_accounts_lists_each_accounts_state(
    settings_env: dict[str, str], settings: Settings, sessions: sessionmaker[Session]
) -> None:
    seed(sessions)
    result = newsroom(settings_env, "social", "accounts", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["account"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"test_x", "fr_x", "fr_facebook", "fr_linkedin"}
    assert rows["fr_x"]["status"] == "active"
    assert rows["fr_x"]["publisher"] == "dry-run"
    result = newsroom(settings_env, "social", "reactivate", "nobody")
    assert result.returncode == 2
    assert "no social account 'nobody'" in result.stderr
