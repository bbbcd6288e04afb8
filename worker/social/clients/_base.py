"""What every platform client shares: the post it is handed, the answer, and the errors.

A client turns the platform's answer into one of our errors, so the caller decides from the
kind alone whether a post waits, is held, fails or must be checked by a person:

    PublishError             str(error) is safe to store and log: it never holds a token
     ├── RateLimited         "not now": try again at .retry_at (aware, UTC)
     ├── AuthExpired         the token is expired, revoked or lacks a permission: the account
     │                       must be authorized again before anything else goes out
     ├── DuplicatePost       the platform already has this content
     ├── Rejected            any other refusal (4xx): permanent for this post
     ├── NotSent             failed before the request reached the platform (no connection,
     │                       connect timeout): safe to try again
     └── Unconfirmed         the platform may have acted (read timeout, 5xx, a connection
                             dropped after sending): never re-posted automatically
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any, ClassVar, Protocol

import httpx

from worker.settings import Settings, SocialAccountConfig

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
# An error message is stored on the post row and shown to editors: a platform's whole
# answer has no place there.
MAX_MESSAGE = 500


@dataclass(frozen=True)
class OutgoingPost:
    post_id: int
    account: str
    text: str  # exactly what to send: composed and escaped for the platform already
    link: str  # the article URL with its UTM tags
    title: str
    description: str
    image_url: str  # may be ""


@dataclass(frozen=True)
class Published:
    platform_post_id: str
    permalink: str


class PublishError(Exception):
    """A post was not published; the subclass says what may happen next."""

    kind: ClassVar[str] = "error"


class RateLimited(PublishError):
    """The platform refused for now; the post may go out once the limit resets."""

    kind = "rate_limited"

    def __init__(self, message: str, *, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled whole (Celery stores a task's exception): retry_at is keyword-only
        return partial(type(self), retry_at=self.retry_at), self.args


class AuthExpired(PublishError):
    """The token no longer works (expired, revoked, or without the permission to post):
    every post of the account would fail the same way until someone authorizes it again."""

    kind = "auth"


class DuplicatePost(PublishError):
    """The platform refuses content it already has: sending it again cannot succeed."""

    kind = "duplicate"


class Rejected(PublishError):
    """The platform refused this post for good (invalid, too long, against a policy)."""

    kind = "rejected"


class NotSent(PublishError):
    """No request reached the platform, so nothing was posted: trying again is safe."""

    kind = "not_sent"


class Unconfirmed(PublishError):
    """The request left and no clear answer came back: the post may be online. Posting it
    again risks a duplicate seen by every follower, so a person checks instead."""

    kind = "unconfirmed"


class Publisher(Protocol):
    def publish(self, post: OutgoingPost) -> Published: ...
    def close(self) -> None: ...


class Redactor:
    """Replaces the account's secrets wherever they could slip into a message: a platform
    that echoes the request, an exception that quotes it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "********")
        if len(text) > MAX_MESSAGE:
            text = text[: MAX_MESSAGE - 1] + "…"
        return text


def account_config(settings: Settings, account: str) -> SocialAccountConfig:
    try:
        return settings.file.social.accounts[account]
    except KeyError:
        raise KeyError(f"no social account {account!r} in {settings.config_file}") from None


def check_account(post: OutgoingPost, account: str) -> None:
    """A post handed to another account's client would go out under the wrong name."""
    if post.account != account:
        raise ValueError(f"post {post.post_id} is for {post.account!r}, not {account!r}")


def httpx_client(
    http: httpx.Client | None, connect_timeout: float, read_timeout: float
) -> tuple[httpx.Client, bool]:
    """The client to use and whether we own it (and so close it). No header is set on it:
    tokens go on each API request, never on a request for the article's image."""
    if http is not None:
        return http, False
    return httpx.Client(timeout=httpx.Timeout(read_timeout, connect=connect_timeout)), True


# Raised before any byte of the request left: nothing can have been posted.
_BEFORE_SENDING = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def transport_error(platform: str, exc: httpx.TransportError, redact: Redactor) -> PublishError:
    """httpx's failures, split on whether the request may have reached the platform."""
    detail = redact(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, _BEFORE_SENDING):
        return NotSent(f"{platform} not reached: {detail}")
    return Unconfirmed(f"{platform} gave no answer after the request was sent: {detail}")


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object, or {} for an empty, HTML or otherwise odd body."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def retry_after(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """RFC 9110 Retry-After, in seconds or as an HTTP date; None when absent or unreadable."""
    value = headers.get("retry-after", "").strip()
    if value.isdigit():
        return now + timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.astimezone(UTC) if when.tzinfo else None
