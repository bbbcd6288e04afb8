"""The shared send rate: one token bucket in Redis for every worker."""

from __future__ import annotations

import threading
import time

import redis

from worker.delivery import RateLimiter


def test_two_workers_share_one_rate(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.delete("newsroom:rate:test")
    taken: list[float] = []

    def worker() -> None:
        limiter = RateLimiter(redis.Redis.from_url(redis_url), "newsroom:rate:test", 50)
        for _ in range(50):
            limiter.acquire()
            taken.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(2)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # a full bucket lets 50 through at once; the other 50 come at 50 a second
    assert len(taken) == 100
    assert max(taken) - start >= 0.9
    in_first_second = sum(1 for t in taken if t - start < 0.5)
    assert in_first_second <= 50 + 25 + 1
