"""LinkedIn through httpx, against an emulated versioned REST API (/rest/posts, /rest/images)
and an emulated article image host."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.social.clients.conftest import AUTHOR_URN, LINKEDIN_TOKEN, assert_no_secret, outgoing
from worker.settings import Settings
from worker.social.clients import (
    AuthExpired,
    DuplicatePost,
    LinkedInPublisher,
    Published,
    PublishError,
    RateLimited,
    Rejected,
    Unconfirmed,
)

POSTS = "/rest/posts"
IMAGE = "/media/budget.jpg"
UPLOAD = "/dms-uploads/C4E10AQ/feedshare-uploadedImage/0"
IMAGE_URN = "urn:li:image:C4E10AQFoRqLYqU2yqw"
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg" * 64
SHARE_URN = "urn:li:share:7141138937766391808"


def publish(settings: Settings, **changes: object) -> Published:
    publisher = LinkedInPublisher(settings, "test_linkedin")
    try:
        return publisher.publish(outgoing("test_linkedin", **changes))
    finally:
        publisher.close()


def refusal(settings: Settings) -> PublishError:
    with pytest.raises(PublishError) as error:
        publish(settings)
    return error.value


def created(platform: HTTPServer) -> None:
    # 201 with the post's URN in x-restli-id:
    # https://learn.microsoft.com/linkedin/marketing/community-management/shares/posts-api
    platform.expect_request(POSTS, method="POST").respond_with_data(
        "", status=201, headers={"x-restli-id": SHARE_URN}
    )


def posted_bodies(platform: HTTPServer) -> list[dict[str, Any]]:
    return [json.loads(r.data) for r, _ in platform.log if r.path == POSTS]


def test_posts_an_article_with_the_versioned_headers(
    platform: HTTPServer, settings: Settings
) -> None:
    created(platform)
    published = publish(settings)

    assert published == Published(SHARE_URN, f"https://www.linkedin.com/feed/update/{SHARE_URN}")
    ((request, _),) = platform.log
    assert request.headers["LinkedIn-Version"] == "202510"
    assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert request.headers["Authorization"] == f"Bearer {LINKEDIN_TOKEN}"
    post = outgoing("test_linkedin")
    assert json.loads(request.data) == {
        "author": AUTHOR_URN,
        "commentary": post.text,
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "content": {
            "article": {"source": post.link, "title": post.title, "description": post.description}
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }


def image_host(platform: HTTPServer) -> None:
    platform.expect_request(IMAGE, method="GET").respond_with_data(JPEG, content_type="image/jpeg")


def images_api(platform: HTTPServer) -> None:
    # https://learn.microsoft.com/linkedin/marketing/community-management/shares/images-api
    platform.expect_request(
        "/rest/images", method="POST", query_string="action=initializeUpload"
    ).respond_with_json(
        {
            "value": {
                "uploadUrlExpiresAt": 1_900_000_000_000,
                "uploadUrl": platform.url_for(UPLOAD) + "?ca=vector_feedshare&cn=uploads&sync=0",
                "image": IMAGE_URN,
            }
        }
    )


def test_the_article_image_becomes_the_thumbnail(platform: HTTPServer, settings: Settings) -> None:
    image_host(platform)
    images_api(platform)
    platform.expect_request(UPLOAD, method="PUT", data=JPEG).respond_with_data("", status=201)
    created(platform)

    publish(settings, image_url=platform.url_for(IMAGE))

    requests = {r.path: r for r, _ in platform.log}
    assert list(requests) == [IMAGE, "/rest/images", UPLOAD, POSTS]
    assert "Authorization" not in requests[IMAGE].headers  # the token stays with LinkedIn
    assert json.loads(requests["/rest/images"].data) == {
        "initializeUploadRequest": {"owner": AUTHOR_URN}
    }
    assert requests["/rest/images"].headers["LinkedIn-Version"] == "202510"
    assert requests[UPLOAD].data == JPEG
    (body,) = posted_bodies(platform)
    assert body["content"]["article"]["thumbnail"] == IMAGE_URN


@pytest.mark.parametrize(
    "failure",
    ["image missing", "not an image", "images API refuses", "upload fails"],
)
def test_a_failed_thumbnail_never_blocks_the_post(
    platform: HTTPServer, settings: Settings, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    if failure == "image missing":
        platform.expect_request(IMAGE).respond_with_data("not found", status=404)
    elif failure == "not an image":
        platform.expect_request(IMAGE).respond_with_data("<html>", content_type="text/html")
    else:
        image_host(platform)
    if failure == "images API refuses":
        # https://github.com/linkedin-developers/linkedin-api-js-client/issues/35
        platform.expect_request("/rest/images").respond_with_json(
            {
                "status": 403,
                "serviceErrorCode": 100,
                "code": "ACCESS_DENIED",
                "message": f"Not enough permissions to access: images.ACTION ({LINKEDIN_TOKEN})",
            },
            status=403,
        )
    elif failure == "upload fails":
        images_api(platform)
        platform.expect_request(UPLOAD).respond_with_data("", status=500)
    created(platform)

    published = publish(settings, image_url=platform.url_for(IMAGE))

    assert published.platform_post_id == SHARE_URN
    (body,) = posted_bodies(platform)
    assert "thumbnail" not in body["content"]["article"]
    assert "post 42: LinkedIn thumbnail failed, posting without one" in caplog.text
    assert_no_secret(caplog.text)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("worker"))
    assert "cn=uploads" not in ours  # the signed upload URL's query stays out of our logs


@pytest.mark.parametrize(
    "body",
    [
        # https://github.com/jclusso/omniauth-linkedin-openid/issues/6
        {
            "status": 401,
            "serviceErrorCode": 65601,
            "code": "REVOKED_ACCESS_TOKEN",
            "message": "The token used in the request has been revoked by the user",
        },
        # "Expired access token", https://learn.microsoft.com/linkedin/shared/api-guide/
        # concepts/error-handling, in the shape of the revoked one above
        {
            "status": 401,
            "serviceErrorCode": 65602,
            "code": "EXPIRED_ACCESS_TOKEN",
            "message": "The token used in the request has expired",
        },
        # https://github.com/linkedin-developers/linkedin-api-js-client/issues/35
        {
            "status": 403,
            "serviceErrorCode": 100,
            "code": "ACCESS_DENIED",
            "message": "Not enough permissions to access: partnerApiPostsExternal.CREATE.20251001",
        },
    ],
    ids=["revoked", "expired", "no permission"],
)
def test_tokens_that_no_longer_work_need_authorization(
    platform: HTTPServer, settings: Settings, body: dict[str, Any]
) -> None:
    platform.expect_request(POSTS).respond_with_json(body, status=body["status"])
    error = refusal(settings)
    assert isinstance(error, AuthExpired)
    assert body["code"] in str(error)


# https://github.com/Automattic/wp-calypso/issues/32007
THROTTLED = {
    "serviceErrorCode": 101,
    "status": 429,
    "message": "Resource level throttle limit for calls to this resource is reached.",
}


def test_rate_limit_waits_for_midnight_utc(platform: HTTPServer, settings: Settings) -> None:
    platform.expect_request(POSTS).respond_with_json(THROTTLED, status=429)
    error = refusal(settings)
    assert isinstance(error, RateLimited)
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert error.retry_at == datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC)


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_rate_limit_honours_retry_after(
    platform: HTTPServer, settings: Settings, form: str
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    value = "120" if form == "seconds" else format_datetime(now + timedelta(seconds=120), True)
    platform.expect_request(POSTS).respond_with_json(
        THROTTLED, status=429, headers={"Retry-After": value}
    )
    error = refusal(settings)
    assert isinstance(error, RateLimited)
    assert now + timedelta(seconds=120) <= error.retry_at <= now + timedelta(seconds=122)


def test_duplicate(platform: HTTPServer, settings: Settings) -> None:
    # https://github.com/Arisamiga/Linkedin-RSS/issues/5
    platform.expect_request(POSTS).respond_with_json(
        {
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "message": "com.linkedin.content.common.exception.BadRequestResponseException: "
            "Content is a duplicate of urn:li:share:7141138937766391808",
            "errorDetails": {
                "inputErrors": [
                    {
                        "description": "Duplicate post is detected",
                        "input": {},
                        "code": "DUPLICATE_POST",
                    }
                ]
            },
            "status": 422,
        },
        status=422,
    )
    error = refusal(settings)
    assert isinstance(error, DuplicatePost)
    assert "Content is a duplicate of urn:li:share:7141138937766391808" in str(error)


def test_other_refusals_are_permanent(platform: HTTPServer, settings: Settings) -> None:
    # https://github.com/linkedin-developers/linkedin-api-python-client/issues/47
    platform.expect_request(POSTS).respond_with_json(
        {
            "status": 400,
            "code": "ILLEGAL_ARGUMENT",
            "message": "Resource method could not be resolved from request parameters.",
        },
        status=400,
    )
    assert isinstance(refusal(settings), Rejected)


@pytest.mark.parametrize("status", [500, 504])
def test_server_errors_leave_the_post_unconfirmed(
    platform: HTTPServer, settings: Settings, status: int
) -> None:
    # "Access token downstream verification failures return a 500": the error-handling page
    platform.expect_request(POSTS).respond_with_json(
        {"message": "Internal Server Error", "status": status}, status=status
    )
    assert isinstance(refusal(settings), Unconfirmed)


def test_a_success_without_urn_is_unconfirmed(platform: HTTPServer, settings: Settings) -> None:
    platform.expect_request(POSTS).respond_with_data("", status=201)
    assert isinstance(refusal(settings), Unconfirmed)
