"""Per-client rate limits for the public and login endpoints, counted in Redis so every
web process shares them: a fixed window per key, cheap and good enough against scripts."""

from __future__ import annotations

import redis

_KEY = "newsroom:web:limit:"


class TooManyRequests(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests; try again in {retry_after} s")
        self.retry_after = retry_after


def hit(client: redis.Redis, key: str, limit: int, window_seconds: int) -> None:
    """Count one request for ``key``; raise TooManyRequests past ``limit`` in the window."""
    name = _KEY + key
    with client.pipeline() as pipe:
        # the window starts with the first request; SET NX, not EXPIRE NX, which needs
        # Redis 7 (the embedded server is 6.2)
        pipe.set(name, 0, ex=window_seconds, nx=True)
        pipe.incr(name)
        pipe.ttl(name)
        _, count, ttl = pipe.execute()
    if count > limit:
        raise TooManyRequests(max(1, int(ttl)))
