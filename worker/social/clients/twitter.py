"""X (Twitter): POST /2/tweets through tweepy, signed with OAuth 1.0a in user context.

tweepy sends every request to https://api.twitter.com with no timeout. A requests adapter
mounted on its session adds both: a default (connect, read) timeout, so a silent server
cannot hold a worker forever, and, when X_API_URL points elsewhere (a proxy, the tests'
emulator), the same path on that host. The OAuth signature is computed for
api.twitter.com before the rewrite, which is what a forwarding proxy passes on.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import tweepy
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError

from worker.settings import Settings
from worker.social.clients._base import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    AuthExpired,
    DuplicatePost,
    NotSent,
    OutgoingPost,
    Published,
    PublishError,
    RateLimited,
    Redactor,
    Rejected,
    Unconfirmed,
    account_config,
    check_account,
)
from worker.store import utcnow

TWEEPY_HOST = "https://api.twitter.com"  # hardcoded in tweepy.Client.request
# Most X limits are counted over 15-minute windows (docs.x.com/fundamentals/rate-limits):
# the wait when a 429 carries no reset header.
DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=15)
# A 429 names its window in one of these header families; the 24-hour ones are the post
# caps of the plan (x-user-limit-24hour-*: github.com/plhery/node-twitter-api-v2/pull/618).
_LIMIT_FAMILIES = ("x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour")


class TimeoutAdapter(HTTPAdapter):
    """Gives each request a default timeout and, if asked, sends it to another host."""

    def __init__(
        self, *, base_url: str | None, connect_timeout: float, read_timeout: float
    ) -> None:
        super().__init__()
        self.base = urlsplit(base_url) if base_url else None
        self.timeout = (connect_timeout, read_timeout)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        if self.base is not None and request.url:
            parts = urlsplit(request.url)
            request.url = urlunsplit(
                (self.base.scheme, self.base.netloc, self.base.path + parts.path, parts.query, "")
            )
            # the session chose proxies for api.twitter.com; the new host has its own
            proxies = requests.utils.get_environ_proxies(request.url)
        return super().send(
            request,
            stream=stream,
            timeout=self.timeout if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


class TwitterPublisher:
    """Posts as the account's user; the post text carries the link (X shows it as a card)."""

    def __init__(
        self,
        settings: Settings,
        account: str,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> None:
        account_config(settings, account)
        secrets = settings.social_secrets[account]
        self.account = account
        self.redact = Redactor(secrets.values())
        # wait_on_rate_limit stays off: a worker must not sleep through a 15-minute window;
        # the post is rescheduled at the reset instead.
        self.client = tweepy.Client(
            consumer_key=secrets["API_KEY"],
            consumer_secret=secrets["API_SECRET"],
            access_token=secrets["ACCESS_TOKEN"],
            access_token_secret=secrets["ACCESS_TOKEN_SECRET"],
            wait_on_rate_limit=False,
        )
        base_url = settings.api_urls.get("twitter", TWEEPY_HOST)
        adapter = TimeoutAdapter(
            base_url=None if base_url == TWEEPY_HOST else base_url,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        self.client.session.mount(TWEEPY_HOST, adapter)

    def publish(self, post: OutgoingPost) -> Published:
        check_account(post, self.account)
        try:
            response = self.client.create_tweet(text=post.text, user_auth=True)
        except tweepy.HTTPException as exc:
            raise self._refusal(exc) from None  # its message may quote the whole body
        except requests.RequestException as exc:
            raise self._transport_error(exc) from exc
        data = response.data if isinstance(response, tweepy.Response) else None
        tweet_id = str(data.get("id", "")) if isinstance(data, dict) else ""
        if not tweet_id:
            raise Unconfirmed("X accepted the post without returning its id")
        return Published(tweet_id, f"https://x.com/i/web/status/{tweet_id}")

    def close(self) -> None:
        self.client.session.close()

    def _refusal(self, exc: tweepy.HTTPException) -> PublishError:
        response = exc.response
        status = f"{response.status_code} {response.reason}"
        detail = "; ".join(str(m) for m in exc.api_messages) or status
        message = self.redact(f"X answered {status}: {detail}")
        if isinstance(exc, tweepy.TooManyRequests):
            return RateLimited(message, retry_at=_reset_time(response.headers, utcnow()))
        if isinstance(exc, tweepy.Unauthorized):
            return AuthExpired(message)
        if isinstance(exc, tweepy.TwitterServerError):
            return Unconfirmed(message)
        if isinstance(exc, tweepy.Forbidden):
            if "duplicate content" in detail.lower():
                return DuplicatePost(message)
            if _problem_type(response).endswith("/oauth1-permissions"):
                # tokens made before the app had write access: regenerate them
                return AuthExpired(message)
        return Rejected(message)

    def _transport_error(self, exc: requests.RequestException) -> PublishError:
        detail = self.redact(f"{type(exc).__name__}: {exc}")
        if _before_sending(exc):
            return NotSent(f"X not reached: {detail}")
        return Unconfirmed(f"X gave no answer after the request was sent: {detail}")


def _before_sending(exc: requests.RequestException) -> bool:
    """A connect timeout, or a connection never established (refused, unknown host). A
    reset, a read timeout or a TLS error may come after the request left."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError) and exc.args:
        cause = exc.args[0]
        return isinstance(cause, MaxRetryError) and isinstance(cause.reason, NewConnectionError)
    return False


def _reset_time(headers: Any, now: datetime) -> datetime:
    """The latest reset among the exhausted limits (remaining 0), else x-rate-limit-reset,
    else the usual 15-minute window. Resets are Unix times."""
    resets: dict[str, datetime] = {}
    for family in _LIMIT_FAMILIES:
        reset = headers.get(f"{family}-reset", "")
        if reset.isdigit():
            resets[family] = datetime.fromtimestamp(int(reset), now.tzinfo)
    exhausted = [t for family, t in resets.items() if headers.get(f"{family}-remaining") == "0"]
    if exhausted:
        return max(exhausted)
    return resets.get("x-rate-limit", now + DEFAULT_RATE_LIMIT_WAIT)


def _problem_type(response: requests.Response) -> str:
    """The RFC 7807 "type" of an X API v2 error body, such as .../problems/oauth1-permissions."""
    try:
        body = response.json()
    except requests.JSONDecodeError:
        return ""
    return str(body.get("type", "")) if isinstance(body, dict) else ""
