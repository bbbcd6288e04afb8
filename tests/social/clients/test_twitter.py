"""X through tweepy, against an emulated POST /2/tweets answering as the X API v2 does."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer

from tests.social.clients.conftest import X_SECRETS, assert_no_secret, outgoing
from worker.settings import Settings
from worker.social.clients import (
    AuthExpired,
    DuplicatePost,
    PublishError,
    RateLimited,
    Rejected,
    TwitterPublisher,
    Unconfirmed,
)

TWEETS = "/2/tweets"


def refusal(settings: Settings) -> PublishError:
    publisher = TwitterPublisher(settings, "test_x")
    try:
        with pytest.raises(PublishError) as error:
            publisher.publish(outgoing("test_x"))
    finally:
        publisher.close()
    return error.value


def test_posts_signed_in_user_context(platform: HTTPServer, settings: Settings) -> None:
    # the 201 of https://docs.x.com/x-api/posts/creation-of-a-post
    platform.expect_request(TWEETS, method="POST").respond_with_json(
        {"data": {"id": "1346889436626259968", "text": "Budget : l’Assemblée vote"}}, status=201
    )
    post = outgoing("test_x")
    publisher = TwitterPublisher(settings, "test_x")
    published = publisher.publish(post)
    publisher.close()

    assert published.platform_post_id == "1346889436626259968"
    assert published.permalink == "https://x.com/i/web/status/1346889436626259968"
    ((request, _),) = platform.log
    assert json.loads(request.data) == {"text": post.text}
    authorization = request.headers["Authorization"]
    assert authorization.startswith("OAuth ")
    assert f'oauth_consumer_key="{X_SECRETS["API_KEY"]}"' in authorization
    assert f'oauth_token="{X_SECRETS["ACCESS_TOKEN"]}"' in authorization
    assert "oauth_signature=" in authorization
    # the two secrets only sign; they never travel
    assert X_SECRETS["API_SECRET"] not in authorization
    assert X_SECRETS["ACCESS_TOKEN_SECRET"] not in authorization


# the 429 body of https://github.com/blorm-network/ZerePy/issues/73; x-rate-limit-* headers
# as in https://docs.x.com/fundamentals/rate-limits, x-user-limit-24hour-* (the plan's daily
# post cap) as in https://github.com/plhery/node-twitter-api-v2/issues/553
TOO_MANY = {
    "title": "Too Many Requests",
    "detail": "Too Many Requests",
    "type": "about:blank",
    "status": 429,
}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param(
            {
                "x-rate-limit-limit": "100",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": "1900000000",
            },
            datetime.fromtimestamp(1_900_000_000, UTC),
            id="15-minute window",
        ),
        pytest.param(
            {
                "x-rate-limit-remaining": "99",
                "x-rate-limit-reset": "1900000000",
                "x-user-limit-24hour-limit": "17",
                "x-user-limit-24hour-remaining": "0",
                "x-user-limit-24hour-reset": "1900050000",
            },
            datetime.fromtimestamp(1_900_050_000, UTC),
            id="daily post cap",
        ),
    ],
)
def test_rate_limit_waits_for_the_exhausted_limit(
    platform: HTTPServer, settings: Settings, headers: dict[str, str], expected: datetime
) -> None:
    platform.expect_request(TWEETS).respond_with_json(TOO_MANY, status=429, headers=headers)
    error = refusal(settings)
    assert isinstance(error, RateLimited)
    assert error.retry_at == expected
    assert error.kind == "rate_limited"
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes, just made)
    assert (type(copy), str(copy), copy.retry_at) == (RateLimited, str(error), expected)


def test_rate_limit_without_headers_waits_a_window(
    platform: HTTPServer, settings: Settings
) -> None:
    platform.expect_request(TWEETS).respond_with_json(TOO_MANY, status=429)
    before = datetime.now(UTC)
    error = refusal(settings)
    assert isinstance(error, RateLimited)
    assert before + timedelta(minutes=15) <= error.retry_at <= before + timedelta(minutes=16)


def test_expired_or_revoked_tokens_need_authorization(
    platform: HTTPServer, settings: Settings
) -> None:
    # https://github.com/xdevplatform/samples/pull/85
    platform.expect_request(TWEETS).respond_with_json(
        {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
        status=401,
    )
    error = refusal(settings)
    assert isinstance(error, AuthExpired)
    assert str(error).startswith("X answered 401 ")
    assert str(error).endswith(": Unauthorized")


def test_tokens_without_write_permission_need_authorization(
    platform: HTTPServer, settings: Settings
) -> None:
    # https://github.com/plhery/node-twitter-api-v2/issues/493
    platform.expect_request(TWEETS).respond_with_json(
        {
            "title": "Forbidden",
            "status": 403,
            "detail": "Your client app is not configured with the appropriate oauth1 app "
            "permissions for this endpoint.",
            "type": "https://api.twitter.com/2/problems/oauth1-permissions",
        },
        status=403,
    )
    assert isinstance(refusal(settings), AuthExpired)


def test_duplicate_content(platform: HTTPServer, settings: Settings) -> None:
    # https://github.com/akrherz/iembot/issues/163
    platform.expect_request(TWEETS).respond_with_json(
        {
            "detail": "You are not allowed to create a Tweet with duplicate content.",
            "type": "about:blank",
            "title": "Forbidden",
            "status": 403,
        },
        status=403,
    )
    error = refusal(settings)
    assert isinstance(error, DuplicatePost)
    assert "duplicate content" in str(error)


def test_other_refusals_are_permanent(platform: HTTPServer, settings: Settings) -> None:
    # https://github.com/abraham/twitteroauth/issues/1082
    platform.expect_request(TWEETS).respond_with_json(
        {
            "errors": [
                {
                    "parameters": {},
                    "message": "Requests with bodies must have content-type of application/json.",
                }
            ],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
        status=400,
    )
    error = refusal(settings)
    assert isinstance(error, Rejected)
    assert "content-type of application/json" in str(error)


def test_server_errors_leave_the_post_unconfirmed(platform: HTTPServer, settings: Settings) -> None:
    # the same RFC 7807 "about:blank" problem shape as the 401 and 429 above
    platform.expect_request(TWEETS).respond_with_json(
        {
            "title": "Service Unavailable",
            "detail": "Service Unavailable",
            "type": "about:blank",
            "status": 503,
        },
        status=503,
    )
    assert isinstance(refusal(settings), Unconfirmed)


def test_an_echoed_secret_never_reaches_the_message(
    platform: HTTPServer, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    echo = " ".join(X_SECRETS.values())
    platform.expect_request(TWEETS).respond_with_json(
        {"title": "Forbidden", "type": "about:blank", "status": 403, "detail": f"bad {echo}"},
        status=403,
    )
    error = refusal(settings)
    assert isinstance(error, Rejected)
    assert "bad ********" in str(error)
    assert_no_secret(str(error), repr(error), caplog.text)
