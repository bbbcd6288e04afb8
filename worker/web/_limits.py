"""Per-client rate limits for the public and login endpoints, counted in Redis so every
web process shares them: a fixed window per key, cheap and good enough against scripts."""

from __future__ import annotations

import redis

_KEY = "newsroom:web:limit:"


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests; try again in {retry_after} s")
        self.retry_after = retry_after


def hit(client: redis.Redis, key: str, limit: int, window_seconds: int) -> None:
    """Count one request for ``key``; raise RateLimited past ``limit`` in the window."""
    name = _KEY + key
    with client.pipeline() as pipe:
        pipe.incr(name)
        pipe.expire(name, window_seconds, nx=True)
        pipe.ttl(name)
        count, _, ttl = pipe.execute()
    if count > limit:
        raise RateLimited(max(1, int(ttl)))
