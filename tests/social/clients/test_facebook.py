"""Facebook through httpx, against an emulated Graph API POST /{version}/{page-id}/feed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from pytest_httpserver import HTTPServer

from tests.social.clients.conftest import PAGE_ID, PAGE_TOKEN, assert_no_secret, outgoing
from worker.settings import Settings
from worker.social.clients import (
    AuthExpired,
    DuplicatePost,
    FacebookPublisher,
    PublishError,
    RateLimited,
    Rejected,
    Unconfirmed,
)

FEED = f"/v24.0/{PAGE_ID}/feed"


def refusal(settings: Settings) -> PublishError:
    publisher = FacebookPublisher(settings, "test_facebook")
    try:
        with pytest.raises(PublishError) as error:
            publisher.publish(outgoing("test_facebook"))
    finally:
        publisher.close()
    return error.value


def graph_error(
    platform: HTTPServer, error: dict[str, Any], status: int = 400, **headers: str
) -> None:
    platform.expect_request(FEED, method="POST").respond_with_json(
        {"error": error}, status=status, headers=headers
    )


def test_posts_on_the_page_with_the_token_in_the_body(
    platform: HTTPServer, settings: Settings
) -> None:
    # {"id": "{page-id}_{post-id}"}: https://developers.facebook.com/docs/pages-api/posts
    platform.expect_request(FEED, method="POST").respond_with_json(
        {"id": f"{PAGE_ID}_122101234567890123"}
    )
    post = outgoing("test_facebook")
    with httpx.Client() as http:
        publisher = FacebookPublisher(settings, "test_facebook", http=http)
        published = publisher.publish(post)
        publisher.close()  # an injected client is the caller's to close
        assert not http.is_closed

    assert published.platform_post_id == f"{PAGE_ID}_122101234567890123"
    assert published.permalink == f"https://www.facebook.com/{PAGE_ID}_122101234567890123"
    ((request, _),) = platform.log
    assert parse_qs(request.get_data(as_text=True)) == {
        "message": [post.text],
        "link": [post.link],
        "access_token": [PAGE_TOKEN],
    }
    assert request.query_string == b""
    assert PAGE_TOKEN not in request.url


# Business Use Case usage, in minutes:
# https://developers.facebook.com/docs/graph-api/overview/rate-limiting/
BUC_USAGE = json.dumps(
    {
        PAGE_ID: [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 12,
                "total_time": 14,
                "estimated_time_to_regain_access": 19,
            }
        ]
    }
)


def test_page_rate_limit_waits_for_the_estimate(platform: HTTPServer, settings: Settings) -> None:
    # https://github.com/facebookarchive/php-graph-sdk/issues/634
    graph_error(
        platform,
        {
            "message": "(#32) Page request limit reached",
            "type": "OAuthException",
            "code": 32,
            "fbtrace_id": "AbCdEfGhIjK",
        },
        **{"X-Business-Use-Case-Usage": BUC_USAGE},
    )
    before = datetime.now(UTC)
    error = refusal(settings)
    assert isinstance(error, RateLimited)
    assert before + timedelta(minutes=19) <= error.retry_at <= before + timedelta(minutes=20)


@pytest.mark.parametrize(
    "error",
    [
        # https://github.com/facebook/facebook-nodejs-business-sdk/issues/97
        {
            "message": "(#4) Application request limit reached",
            "type": "OAuthException",
            "is_transient": True,
            "code": 4,
            "fbtrace_id": "FlQgl+5U8pF",
        },
        # https://github.com/gitroomhq/postiz-app/pull/2068
        {
            "message": "We limit how often you can post, comment or do other things in a given "
            "amount of time in order to help protect the community from spam. You can try again "
            "later.",
            "type": "OAuthException",
            "code": 368,
            "error_subcode": 1390008,
            "fbtrace_id": "A1b2C3",
        },
    ],
    ids=["app limit", "posting too fast"],
)
def test_throttling_without_estimate_waits_an_hour(
    platform: HTTPServer, settings: Settings, error: dict[str, Any]
) -> None:
    graph_error(platform, error)
    before = datetime.now(UTC)
    refused = refusal(settings)
    assert isinstance(refused, RateLimited)
    assert before + timedelta(hours=1) <= refused.retry_at <= before + timedelta(minutes=61)


def test_expired_token_needs_authorization_and_never_leaks(
    platform: HTTPServer, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    # code 190, subcode 463 "expired": https://developers.facebook.com/docs/graph-api/guides/
    # error-handling (the token echoed here to prove it is scrubbed)
    graph_error(
        platform,
        {
            "message": f"Error validating access token: Session has expired ({PAGE_TOKEN})",
            "type": "OAuthException",
            "code": 190,
            "error_subcode": 463,
            "fbtrace_id": "EJplcsCHuLu",
        },
    )
    error = refusal(settings)
    assert isinstance(error, AuthExpired)
    assert str(error).startswith("Facebook answered 400 (code 190/463): Error validating")
    assert_no_secret(str(error), caplog.text)


def test_missing_permission_needs_authorization(platform: HTTPServer, settings: Settings) -> None:
    # 200-299 "API Permission: permission is either not granted or has been removed": the
    # error-handling guide above
    graph_error(
        platform,
        {
            "message": "(#200) Permissions error",
            "type": "OAuthException",
            "code": 200,
            "fbtrace_id": "Bx1",
        },
        status=403,
    )
    assert isinstance(refusal(settings), AuthExpired)


@pytest.mark.parametrize(
    "error",
    [
        # https://github.com/michaelkamleitner/galileo-facebook-programmierung
        # (3.12-graphapi-batch-result.txt, HTTP 400)
        {"message": "(#506) Duplicate status message", "type": "OAuthException", "code": 506},
        # https://github.com/arsduo/koala/issues/422 (HTTP 400)
        {
            "message": "You've already posted this. Posting the same content repeatedly on "
            "Facebook isn't allowed.",
            "type": "OAuthException",
            "code": 368,
        },
    ],
    ids=["506", "368 already posted"],
)
def test_duplicates(platform: HTTPServer, settings: Settings, error: dict[str, Any]) -> None:
    graph_error(platform, error)
    assert isinstance(refusal(settings), DuplicatePost)


def test_policy_blocks_are_refused(platform: HTTPServer, settings: Settings) -> None:
    # https://github.com/facebookarchive/php-graph-sdk/issues/528
    graph_error(
        platform,
        {
            "message": "Your message couldn't be sent because it includes content that other "
            "people on Facebook have reported as abusive.",
            "type": "OAuthException",
            "code": 368,
        },
    )
    error = refusal(settings)
    assert isinstance(error, Rejected)
    assert "reported as abusive" in str(error)


def test_outages_leave_the_post_unconfirmed(platform: HTTPServer, settings: Settings) -> None:
    # code 2 "API Service: temporary issue due to downtime": the error-handling guide above
    graph_error(
        platform,
        {
            "message": "An unexpected error has occurred. Please retry your request later.",
            "type": "OAuthException",
            "is_transient": True,
            "code": 2,
            "fbtrace_id": "Az9",
        },
        status=500,
    )
    assert isinstance(refusal(settings), Unconfirmed)


def test_a_success_without_id_is_unconfirmed(platform: HTTPServer, settings: Settings) -> None:
    platform.expect_request(FEED).respond_with_data("", status=200)
    assert isinstance(refusal(settings), Unconfirmed)
