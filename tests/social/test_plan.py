"""Planning an article's posts on the real database: who posts it, when, and only once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.db import create_article
from worker.settings import Settings
from worker.social import plan_posts
from worker.store import SocialPostStatus
from worker.store import social as social_posts

SLOTTED = """
[social.accounts.fr_x]
platform = "twitter"
language = "fr"
slots = { times = ["08:00", "12:30", "18:00"], timezone = "Europe/Paris" }
min_spacing_minutes = 60

[social.accounts.fr_linkedin]
platform = "linkedin"
language = "fr"
author_urn = "urn:li:organization:1000001"
slots = { times = ["08:30"], days = ["mon", "tue", "wed", "thu", "fri"], timezone = "Europe/Paris" }
"""

PARIS = ZoneInfo("Europe/Paris")
# Wednesday 25 November 2026, 09:00 in Paris
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.mark.newsroom_config(SLOTTED)
def test_each_account_of_the_articles_language_gets_one_post_in_its_next_slot(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        article = create_article(session, tags=["politique", "assemblée nationale"])
        planned = plan_posts(session, settings.file.social, article, NOW)
        by_account = {post.account.name: post for post in planned}
        # test_x speaks English: the French article is not its to post
        assert set(by_account) == {"fr_x", "fr_linkedin"}
        x, linkedin = by_account["fr_x"], by_account["fr_linkedin"]
        assert x.status is SocialPostStatus.PLANNED
        assert x.scheduled_at is not None
        assert linkedin.scheduled_at is not None
        assert x.scheduled_at.astimezone(PARIS).strftime("%a %H:%M") == "Wed 12:30"
        assert linkedin.scheduled_at.astimezone(PARIS).strftime("%a %H:%M") == "Thu 08:30"
        assert "utm_source=twitter" in x.link
        assert "utm_medium=social" in x.link
        assert x.text.endswith("#Politique #AssembléeNationale")
        assert x.link in x.text  # X carries its link in the text; LinkedIn attaches it
        assert x.link not in linkedin.text

        # planning the same article again changes nothing
        assert plan_posts(session, settings.file.social, article, NOW) == []
        # the next article takes the next free slots
        second = create_article(session, 2)
        times = {
            post.account.name: post.scheduled_at
            for post in plan_posts(session, settings.file.social, second, NOW)
        }
        assert times["fr_x"] is not None
        assert times["fr_linkedin"] is not None
        assert times["fr_x"].astimezone(PARIS).strftime("%a %H:%M") == "Wed 18:00"
        assert times["fr_linkedin"].astimezone(PARIS).strftime("%a %H:%M") == "Fri 08:30"


@pytest.mark.newsroom_config(SLOTTED)
def test_an_article_without_language_goes_to_every_account(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        article = create_article(session, language="")
        planned = plan_posts(session, settings.file.social, article, NOW)
        assert {post.account.name for post in planned} == {"test_x", "fr_x", "fr_linkedin"}


@pytest.mark.newsroom_config(SLOTTED)
def test_published_and_unconfirmed_posts_keep_their_slot_taken(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        first = plan_posts(session, settings.file.social, create_article(session), NOW)
        for post in first:
            post.status = SocialPostStatus.UNCONFIRMED
        cancelled = plan_posts(session, settings.file.social, create_article(session, 2), NOW)
        for post in cancelled:
            post.status = SocialPostStatus.CANCELLED
        session.flush()
        third = plan_posts(session, settings.file.social, create_article(session, 3), NOW)
        x_times = [p.scheduled_at for p in first + cancelled + third if p.account.name == "fr_x"]
        assert x_times[0] is not None
        assert x_times[2] is not None
        # a cancelled post frees its slot; an unconfirmed one may be out there: it does not
        assert x_times[2] == x_times[1]
        assert x_times[2] - x_times[0] == timedelta(hours=5, minutes=30)


@pytest.mark.newsroom_config(
    SLOTTED
    + """
[social.accounts.silent_x]
platform = "twitter"
language = "fr"
post_at = "now"
blackouts = [{ start = 2026-01-01T00:00:00, end = 2030-01-01T00:00:00, reason = "closed" }]
"""
)
def test_an_account_that_cannot_post_never_holds_back_the_others(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        planned = plan_posts(session, settings.file.social, create_article(session), NOW)
        assert {post.account.name for post in planned} == {"fr_x", "fr_linkedin"}
        silent = social_posts.sync_accounts(session, settings.file.social.accounts)["silent_x"]
        assert "no free time within 366 days" in silent.last_error
