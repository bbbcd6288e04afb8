"""The Redis timer of planned posts, on a real Redis."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis

from tests.social.conftest import timer
from worker.social import schedule, take_due, unschedule

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()


def test_only_due_posts_are_taken_earliest_first(client: redis.Redis) -> None:
    schedule(client, [(3, NOW + timedelta(seconds=1)), (1, NOW - timedelta(minutes=5)), (2, NOW)])
    assert take_due(client, NOW) == [1, 2]
    assert take_due(client, NOW) == []  # taken means gone
    assert list(timer(client)) == [3]


def test_rescheduling_moves_a_post_and_unscheduling_drops_it(client: redis.Redis) -> None:
    schedule(client, [(1, NOW), (2, NOW)])
    schedule(client, [(1, NOW + timedelta(hours=1))])
    unschedule(client, [2])
    assert take_due(client, NOW) == []
    assert take_due(client, NOW + timedelta(hours=1)) == [1]


def test_concurrent_dispatchers_never_take_the_same_post(redis_url: str) -> None:
    setup = redis.Redis.from_url(redis_url)
    setup.flushdb()
    schedule(setup, [(post_id, NOW) for post_id in range(2000)])
    taken: list[list[int]] = [[] for _ in range(8)]

    def dispatcher(index: int) -> None:
        client = redis.Redis.from_url(redis_url)
        while ids := take_due(client, NOW, limit=7):
            taken[index].extend(ids)

    threads = [threading.Thread(target=dispatcher, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [post_id for ids in taken for post_id in ids]
    assert sorted(everything) == list(range(2000))  # each exactly once
    assert sum(1 for ids in taken if ids) > 1  # they really raced
