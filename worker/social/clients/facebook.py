"""Facebook: a Page post through the Graph API, POST /{version}/{page-id}/feed.

The Page access token travels in the form body, never in the URL, which httpx and any proxy
may log. Errors are told apart by the Graph error code, not the HTTP status, which is 400
for nearly all of them (developers.facebook.com/docs/graph-api/guides/error-handling).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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
    transport_error,
)
from worker.store import utcnow

# Throttling: 4 app, 17 user, 32 Page, 613 custom limit, 341 app limit reached, 80001 too
# many calls to this Page account (Pages use Business Use Case limits with a Page token).
RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613, 80001})
# 368 with this subcode: "We limit how often you can post ... try again later"
# (github.com/gitroomhq/postiz-app/pull/2068); other 368s are policy blocks.
POSTING_TOO_FAST = 1390008
# 190 invalid or expired token (subcodes 458-467, 492), 102 session; 10 and 200-299 a
# permission not granted or withdrawn (pages_manage_posts): all need a new authorization.
AUTH_CODES = frozenset({102, 190, 10, *range(200, 300)})
# 1 "unknown error" and 2 "service" are transient outages; the post may exist anyway.
OUTAGE_CODES = frozenset({1, 2})
DUPLICATE = 506
BLOCKED = 368
# Platform rate limits count calls over a rolling hour: the wait when no usage header
# says how long (developers.facebook.com/docs/graph-api/overview/rate-limiting).
DEFAULT_RATE_LIMIT_WAIT = timedelta(hours=1)
USAGE_HEADERS = ("x-business-use-case-usage", "x-page-usage", "x-app-usage")


class FacebookPublisher:
    """Posts on the account's Page; the link becomes the post's preview card."""

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
        self.account = account
        self.token = settings.social_secrets[account]["PAGE_TOKEN"]
        self.redact = Redactor([self.token])
        version = settings.file.social.graph_api_version
        self.url = f"{settings.api_urls['facebook']}/{version}/{config.page_id}/feed"
        self.http, self._owned = httpx_client(http, connect_timeout, read_timeout)

    def publish(self, post: OutgoingPost) -> Published:
        check_account(post, self.account)
        form = {"message": post.text, "link": post.link, "access_token": self.token}
        try:
            response = self.http.post(self.url, data=form)
        except httpx.TransportError as exc:
            raise transport_error("Facebook", exc, self.redact) from exc
        body = json_body(response)
        if not response.is_success:
            raise self._refusal(response, body.get("error"))
        post_id = str(body.get("id", ""))
        if not post_id:
            raise Unconfirmed(f"Facebook answered {response.status_code} without a post id")
        return Published(post_id, f"https://www.facebook.com/{post_id}")

    def close(self) -> None:
        if self._owned:
            self.http.close()

    def _refusal(self, response: httpx.Response, error: Any) -> PublishError:
        error = error if isinstance(error, dict) else {}
        code, subcode = error.get("code"), error.get("error_subcode")
        what = f" (code {code}/{subcode})" if subcode else f" (code {code})" if code else ""
        detail = error.get("message") or response.reason_phrase
        message = self.redact(f"Facebook answered {response.status_code}{what}: {detail}")
        if code in RATE_LIMIT_CODES or (code == BLOCKED and subcode == POSTING_TOO_FAST):
            return RateLimited(message, retry_at=_regain_access(response.headers, utcnow()))
        if response.status_code >= 500 or code in OUTAGE_CODES:
            return Unconfirmed(message)
        if code in AUTH_CODES:
            return AuthExpired(message)
        if code == DUPLICATE or (code == BLOCKED and "already posted" in str(detail).lower()):
            # 368 "You've already posted this" (github.com/arsduo/koala/issues/422)
            return DuplicatePost(message)
        return Rejected(message)


def _regain_access(headers: Mapping[str, str], now: datetime) -> datetime:
    """Now plus the longest estimated_time_to_regain_access (minutes) of the usage headers,
    or the default wait when none says."""
    minutes = max((m for name in USAGE_HEADERS for m in _estimates(headers.get(name))), default=0)
    return now + (timedelta(minutes=minutes) if minutes > 0 else DEFAULT_RATE_LIMIT_WAIT)


def _estimates(header: str | None) -> list[float]:
    """X-Business-Use-Case-Usage is {"<id>": [{"type": "pages", ...,
    "estimated_time_to_regain_access": 19}]}; X-App-Usage and X-Page-Usage are flat."""
    try:
        usage = json.loads(header) if header else {}
    except json.JSONDecodeError:
        return []
    if not isinstance(usage, dict):
        return []
    entries = [usage, *(e for v in usage.values() if isinstance(v, list) for e in v)]
    values = [e.get("estimated_time_to_regain_access") for e in entries if isinstance(e, dict)]
    return [float(v) for v in values if isinstance(v, int | float)]
