"""The CMS's way in: ``POST /api/articles``, signed like Stripe's and GitHub's webhooks.

The CMS sends ``X-Newsroom-Timestamp: <Unix seconds>`` and
``X-Newsroom-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`` made with
WEBHOOK_SECRET. The timestamp must be within five minutes of ours, and a signature is
accepted once (Redis remembers it for longer than the window), so a captured request
cannot be replayed. The article itself is idempotent by URL, like every import.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import redis

# A request older or newer than this is refused: clocks drift, replays are old.
WINDOW_SECONDS = 300
_SEEN = "newsroom:webhook:seen:"


class WebhookRefused(Exception):
    """The request is not provably from the CMS, or not fresh; the message says why."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The header value a CMS sends for ``body`` at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(
    secret: str | None,
    timestamp: str | None,
    sent: str | None,
    body: bytes,
    client: redis.Redis,
    now: float | None = None,
) -> None:
    """Accept a request once; raise WebhookRefused otherwise (and change nothing)."""
    if not secret:
        raise WebhookRefused("the webhook is not configured (set WEBHOOK_SECRET)")
    if not timestamp or not sent:
        raise WebhookRefused("X-Newsroom-Timestamp and X-Newsroom-Signature are required")
    if not timestamp.isdigit():
        raise WebhookRefused("X-Newsroom-Timestamp: not Unix seconds")
    if abs((now or time.time()) - int(timestamp)) > WINDOW_SECONDS:
        raise WebhookRefused("X-Newsroom-Timestamp: outside the 5-minute window")
    if not hmac.compare_digest(signature(secret, timestamp, body).encode(), sent.encode()):
        raise WebhookRefused("X-Newsroom-Signature: does not match the body")
    if not client.set(_SEEN + sent, 1, nx=True, ex=2 * WINDOW_SECONDS):
        raise WebhookRefused("X-Newsroom-Signature: already used (a replayed request)")
