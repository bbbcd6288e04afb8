"""LinkedIn: an article post through the versioned REST API, POST /rest/posts.

The article (link, title, description, thumbnail) is attached to the commentary; the
thumbnail is the article's image, uploaded first through the Images API. That upload is
a nicety: when any step of it fails, the post goes out without a thumbnail and a warning
is logged. Every call carries LinkedIn-Version and X-Restli-Protocol-Version 2.0.0, which
the versioned API requires (learn.microsoft.com/linkedin/marketing/community-management/
shares/posts-api).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import httpx

from worker.settings import Settings
from worker.social.clients._base import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    AuthExpired,
    DuplicatePost,
    OutgoingPost,
    Published,
    PublishError,
    RateLimited,
    Redactor,
    Rejected,
    Unconfirmed,
    account_config,
    check_account,
    httpx_client,
    json_body,
    retry_after,
    transport_error,
)
from worker.store import utcnow

log = logging.getLogger(__name__)

# Each thumbnail step (download, initializeUpload, upload) waits at most this long, so
# the three together stay well inside social.publishing_stale_seconds.
THUMBNAIL_READ_TIMEOUT = 10.0
MAX_IMAGE_BYTES = 10 * 1024 * 1024


class LinkedInPublisher:
    """Posts as the account's author (a member or an organization)."""

    def __init__(
        self,
        settings: Settings,
        account: str,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        http: httpx.Client | None = None,
    ) -> None:
        config = account_config(settings, account)
        token = settings.social_secrets[account]["ACCESS_TOKEN"]
        self.account = account
        self.author = str(config.author_urn)
        self.redact = Redactor([token])
        self.base = settings.api_urls["linkedin"]
        self.headers = {
            "Authorization": f"Bearer {token}",
            "LinkedIn-Version": settings.file.social.linkedin_version,
            "X-Restli-Protocol-Version": "2.0.0",
        }
        self.http, self._owned = httpx_client(http, connect_timeout, read_timeout)
        self.thumbnail_timeout = httpx.Timeout(
            min(read_timeout, THUMBNAIL_READ_TIMEOUT), connect=connect_timeout
        )

    def publish(self, post: OutgoingPost) -> Published:
        check_account(post, self.account)
        article = {"source": post.link, "title": post.title}
        if post.description:
            article["description"] = post.description
        thumbnail = self._thumbnail(post) if post.image_url else None
        if thumbnail:
            article["thumbnail"] = thumbnail
        body = {
            "author": self.author,
            "commentary": post.text,
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "content": {"article": article},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        try:
            response = self.http.post(f"{self.base}/rest/posts", json=body, headers=self.headers)
        except httpx.TransportError as exc:
            raise transport_error("LinkedIn", exc, self.redact) from exc
        if not response.is_success:
            raise self._refusal(response)
        urn = response.headers.get("x-restli-id", "")  # the new post's URN (201 Created)
        if not urn:
            raise Unconfirmed(f"LinkedIn answered {response.status_code} without x-restli-id")
        return Published(urn, f"https://www.linkedin.com/feed/update/{urn}")

    def close(self) -> None:
        if self._owned:
            self.http.close()

    def _thumbnail(self, post: OutgoingPost) -> str | None:
        """The image URN of the article's image once uploaded, or None (logged) on failure:
        download it, ask the Images API for an upload URL, PUT the bytes there
        (learn.microsoft.com/linkedin/marketing/community-management/shares/images-api)."""
        try:
            image = self._download(post.image_url)
            started = self.http.post(
                f"{self.base}/rest/images",
                params={"action": "initializeUpload"},
                json={"initializeUploadRequest": {"owner": self.author}},
                headers=self.headers,
                timeout=self.thumbnail_timeout,
            ).raise_for_status()
            value = started.json()["value"]
            upload_url, urn = str(value["uploadUrl"]), str(value["image"])
            self.http.put(
                upload_url,
                content=image,
                headers=self._upload_headers(upload_url),
                timeout=self.thumbnail_timeout,
            ).raise_for_status()
        except (httpx.HTTPError, httpx.InvalidURL, ValueError, KeyError, TypeError) as exc:
            log.warning(
                "post %s: LinkedIn thumbnail failed, posting without one: %s",
                post.post_id,
                self.redact(_thumbnail_failure(exc)),
            )
            return None
        return urn

    def _download(self, url: str) -> bytes:
        with self.http.stream("GET", url, timeout=self.thumbnail_timeout) as response:
            response.raise_for_status()
            kind = response.headers.get("content-type", "")
            if not kind.startswith("image/"):
                raise ValueError(f"{url} is {kind or 'untyped'}, not an image")
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > MAX_IMAGE_BYTES:
                    raise ValueError(f"{url} is larger than {MAX_IMAGE_BYTES} bytes")
        return bytes(data)

    def _upload_headers(self, url: str) -> dict[str, str]:
        """LinkedIn's upload URLs (www.linkedin.com/dms-uploads/...) take the bearer token
        too; any other host gets the bytes without it."""
        host = httpx.URL(url).host
        ours = host in (httpx.URL(self.base).host, "linkedin.com") or host.endswith(".linkedin.com")
        headers = {"Content-Type": "application/octet-stream"}
        if ours:
            headers["Authorization"] = self.headers["Authorization"]
        return headers

    def _refusal(self, response: httpx.Response) -> PublishError:
        body = json_body(response)
        codes = _error_codes(body)
        status = response.status_code
        named = f" ({', '.join(sorted(codes))})" if codes else ""
        detail = body.get("message") or response.reason_phrase
        message = self.redact(f"LinkedIn answered {status}{named}: {detail}")
        if status == 429:
            now = utcnow()
            return RateLimited(
                message, retry_at=retry_after(response.headers, now) or _next_midnight(now)
            )
        if status >= 500:
            return Unconfirmed(message)
        if status == 401 or (status == 403 and "ACCESS_DENIED" in codes):
            # 401: EXPIRED_ACCESS_TOKEN, REVOKED_ACCESS_TOKEN, invalid; 403 ACCESS_DENIED:
            # the token lacks w_organization_social or the member lost the Page role
            return AuthExpired(message)
        if status == 422 and "DUPLICATE_POST" in codes:
            return DuplicatePost(message)
        return Rejected(message)


def _error_codes(body: dict[str, Any]) -> set[str]:
    """The error codes of a Rest.li error: the top-level "code", those of the input errors
    (a duplicate is reported only there), ACCESS_DENIED for serviceErrorCode 100."""
    codes = {str(body.get("code") or "")}
    if body.get("serviceErrorCode") == 100:
        codes.add("ACCESS_DENIED")
    details = body.get("errorDetails")
    inputs = details.get("inputErrors") if isinstance(details, dict) else None
    for item in inputs if isinstance(inputs, list) else []:
        if isinstance(item, dict):
            codes.add(str(item.get("code") or ""))
    return codes - {""}


def _next_midnight(now: datetime) -> datetime:
    """LinkedIn's daily limits reset at midnight UTC
    (learn.microsoft.com/linkedin/shared/api-guide/concepts/rate-limits)."""
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def _thumbnail_failure(exc: Exception) -> str:
    """What went wrong, without the URL's query: LinkedIn's upload URLs are signed."""
    if isinstance(exc, httpx.HTTPStatusError):
        url = exc.request.url.copy_with(query=None)
        return f"{exc.response.status_code} from {url}"
    if isinstance(exc, httpx.HTTPError):
        return type(exc).__name__
    return f"{type(exc).__name__}: {exc}"
