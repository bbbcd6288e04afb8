"""Publishing without Celery: the plain functions the tasks call, on the real database and
Redis, through tweepy's real client against the X emulator. Every answer X can give ends
in the status it should, and nothing is posted twice."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import free_port
from tests.db import create_article
from tests.social.conftest import LIVE_X, XEmulator, timer
from worker.dispatch import change_post, plan_social_posts, reactivate_account
from worker.settings import Settings, load_settings
from worker.social import (
    PostChangeRefused,
    dispatch_due,
    publish_post,
    sweep,
    take_due,
)
from worker.social._publish import MAX_ATTEMPTS
from worker.store import SocialAccountStatus, SocialPost, SocialPostStatus, utcnow
from worker.store import social as social_posts

pytestmark = pytest.mark.newsroom_config(LIVE_X)

# X's answers, as its API v2 sends them (https://docs.x.com/x-api/fundamentals/response-codes-and-errors)
RESET = int(time.time()) + 900
RATE_LIMITED = (
    429,
    {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(RESET)},
    {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    },
)
UNAUTHORIZED = (
    401,
    {},
    {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
)
DUPLICATE = (
    403,
    {},
    {
        "detail": "You are not allowed to create a Tweet with duplicate content.",
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
    },
)
UNAVAILABLE = (
    503,
    {},
    {
        "title": "Service Unavailable",
        "detail": "Service Unavailable",
        "type": "about:blank",
        "status": 503,
    },
)


def queued_post(settings: Settings, sessions: sessionmaker[Session], client: redis.Redis) -> int:
    """A planned post of the live X account, taken off the schedule and queued."""
    with sessions.begin() as session:
        (post,) = plan_social_posts(session, settings, create_article(session))
        post_id = post.id
    assert dispatch_due(sessions, client, utcnow() + timedelta(seconds=1)) == [post_id]
    return post_id


def load(sessions: sessionmaker[Session], post_id: int) -> SocialPost:
    with sessions.begin() as session:
        post = social_posts.get_post(session, post_id)
        assert post is not None
        session.expunge(post)
        return post


@pytest.fixture
def client(live_settings: Settings, redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


def test_a_published_post_records_the_platforms_id_and_is_never_sent_again(
    live_settings: Settings, sessions: sessionmaker[Session], client: redis.Redis, x_api: XEmulator
) -> None:
    post_id = queued_post(live_settings, sessions, client)
    assert publish_post(sessions, live_settings, client, post_id) is SocialPostStatus.PUBLISHED
    assert publish_post(sessions, live_settings, client, post_id) is None  # a redelivery
    post = load(sessions, post_id)
    assert post.platform_post_id == "1860000000000000001"
    assert post.permalink == "https://x.com/i/web/status/1860000000000000001"
    assert post.published_at is not None
    assert len(x_api.received) == 1
    assert x_api.received[0][1] == post.text


def test_a_rate_limit_waits_for_the_reset_time(
    live_settings: Settings, sessions: sessionmaker[Session], client: redis.Redis, x_api: XEmulator
) -> None:
    x_api.reply = RATE_LIMITED
    post_id = queued_post(live_settings, sessions, client)
    assert publish_post(sessions, live_settings, client, post_id) is SocialPostStatus.PLANNED
    post = load(sessions, post_id)
    assert post.error_kind == "rate_limited"
    assert post.scheduled_at == datetime.fromtimestamp(RESET, UTC)
    assert timer(client) == {post_id: RESET}
    assert take_due(client, utcnow()) == []  # not before the reset


def test_an_expired_token_holds_the_account_until_it_is_reactivated(
    live_settings: Settings, sessions: sessionmaker[Session], client: redis.Redis, x_api: XEmulator
) -> None:
    x_api.reply = UNAUTHORIZED
    post_id = queued_post(live_settings, sessions, client)
    assert publish_post(sessions, live_settings, client, post_id) is SocialPostStatus.PLANNED
    with sessions.begin() as session:
        account = social_posts.sync_accounts(session, live_settings.file.social.accounts)["live_x"]
        assert account.status is SocialAccountStatus.NEEDS_REAUTH
        assert "auth" in account.last_error
        # a second article is planned but held too: nothing loops against a dead token
        (held,) = plan_social_posts(session, live_settings, create_article(session, 2))
        held_id = held.id
    assert timer(client) == {}
    assert dispatch_due(sessions, client, utcnow() + timedelta(days=1)) == []
    sweep(sessions, live_settings, client)
    assert timer(client) == {}
    assert len(x_api.received) == 1

    x_api.reply = None
    replanned = reactivate_account(live_settings, "live_x")
    assert sorted(p.id for p in replanned) == sorted([post_id, held_id])
    assert set(timer(client)) == {post_id, held_id}
    for queued in dispatch_due(sessions, client, utcnow() + timedelta(seconds=1)):
        assert publish_post(sessions, live_settings, client, queued) is SocialPostStatus.PUBLISHED
    assert len(x_api.received) == 3


def test_a_duplicate_is_recorded_as_such(
    live_settings: Settings, sessions: sessionmaker[Session], client: redis.Redis, x_api: XEmulator
) -> None:
    x_api.reply = DUPLICATE
    post_id = queued_post(live_settings, sessions, client)
    assert publish_post(sessions, live_settings, client, post_id) is SocialPostStatus.FAILED
    post = load(sessions, post_id)
    assert post.error_kind == "duplicate"
    assert "duplicate content" in post.error


def test_a_server_error_after_sending_is_unconfirmed_and_never_retried(
    live_settings: Settings, sessions: sessionmaker[Session], client: redis.Redis, x_api: XEmulator
) -> None:
    x_api.reply = UNAVAILABLE
    post_id = queued_post(live_settings, sessions, client)
    assert publish_post(sessions, live_settings, client, post_id) is SocialPostStatus.UNCONFIRMED
    sweep(sessions, live_settings, client)
    assert timer(client) == {}
    assert load(sessions, post_id).error_kind == "unconfirmed"
    # an editor who checked the account may send it again, deliberately
    change_post(live_settings, post_id, "publish-now")
    assert load(sessions, post_id).status is SocialPostStatus.QUEUED


def test_a_request_that_never_left_is_tried_again_then_failed(
    live_settings: Settings,
    settings_env: dict[str, str],
    sessions: sessionmaker[Session],
    client: redis.Redis,
) -> None:
    closed = load_settings({**settings_env, "X_API_URL": f"http://127.0.0.1:{free_port()}"})
    post_id = queued_post(closed, sessions, client)
    assert publish_post(sessions, closed, client, post_id) is SocialPostStatus.PLANNED
    post = load(sessions, post_id)
    assert post.error_kind == "not_sent"
    assert post.attempts == 1
    assert post.scheduled_at is not None
    assert timedelta(seconds=25) < post.scheduled_at - utcnow() <= timedelta(seconds=30)
    for attempt in range(2, MAX_ATTEMPTS + 1):
        assert dispatch_due(sessions, client, utcnow() + timedelta(hours=1)) == [post_id]
        status = publish_post(sessions, closed, client, post_id)
        expected = SocialPostStatus.FAILED if attempt == MAX_ATTEMPTS else SocialPostStatus.PLANNED
        assert status is expected
    assert load(sessions, post_id).attempts == MAX_ATTEMPTS


def test_a_cancelled_post_is_not_published_even_if_its_message_arrives(
    live_settings: Settings, sessions: sessionmaker[Session], client: redis.Redis, x_api: XEmulator
) -> None:
    post_id = queued_post(live_settings, sessions, client)
    change_post(live_settings, post_id, "cancel")
    assert publish_post(sessions, live_settings, client, post_id) is None
    assert x_api.received == []
    with pytest.raises(PostChangeRefused, match="is cancelled: publish-now applies to"):
        change_post(live_settings, post_id, "publish-now")


def test_the_sweeper_settles_lost_claims_and_rebuilds_the_schedule(
    live_settings: Settings, sessions: sessionmaker[Session], client: redis.Redis
) -> None:
    lost = queued_post(live_settings, sessions, client)
    with sessions.begin() as session:
        assert social_posts.claim(session, lost, utcnow() - timedelta(seconds=10)) is not None
        stuck = plan_social_posts(session, live_settings, create_article(session, 2))[0].id
        later = plan_social_posts(session, live_settings, create_article(session, 3))[0].id
    assert set(dispatch_due(sessions, client, utcnow() + timedelta(seconds=1))) == {stuck, later}
    with sessions.begin() as session:
        # `later` goes back to planned as if Redis had lost it; `stuck` waits in the queue
        post = social_posts.get_post(session, later)
        assert post is not None
        post.status = SocialPostStatus.PLANNED
    client.flushdb()

    report = sweep(sessions, live_settings, client, utcnow() + timedelta(seconds=61))
    assert report.unconfirmed == [lost]
    assert report.republish == [stuck]
    assert set(timer(client)) == {later}
    assert load(sessions, lost).status is SocialPostStatus.UNCONFIRMED


# a blackout (UTC, the account has no slots) from the past to two days from now
BLACKOUT_END = (utcnow() + timedelta(days=2)).replace(second=0, microsecond=0)


@pytest.mark.newsroom_config(
    LIVE_X
    + f"""
blackouts = [{{ start = 2000-01-01T00:00:00, end = {BLACKOUT_END:%Y-%m-%dT%H:%M:%S} }}]
"""
)
def test_a_retry_respects_the_accounts_rules(
    live_settings: Settings, sessions: sessionmaker[Session], client: redis.Redis, x_api: XEmulator
) -> None:
    """Rate limited into a blackout: the post waits for the blackout's end, not the reset."""
    x_api.reply = RATE_LIMITED
    with sessions.begin() as session:
        (post,) = plan_social_posts(session, live_settings, create_article(session))
        post_id = post.id
        # an editor puts it out now, the blackout notwithstanding
    change_post(live_settings, post_id, "publish-now")
    assert publish_post(sessions, live_settings, client, post_id) is SocialPostStatus.PLANNED
    assert load(sessions, post_id).scheduled_at == BLACKOUT_END


def test_a_lost_publish_message_is_sent_again_once_per_grace_period(
    live_settings: Settings, sessions: sessionmaker[Session], client: redis.Redis
) -> None:
    post_id = queued_post(live_settings, sessions, client)
    later = utcnow() + timedelta(seconds=61)
    assert sweep(sessions, live_settings, client, later).republish == [post_id]
    assert sweep(sessions, live_settings, client, later + timedelta(seconds=30)).republish == []
    assert sweep(sessions, live_settings, client, later + timedelta(seconds=61)).republish == [
        post_id
    ]
