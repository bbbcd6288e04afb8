"""The timer of planned posts: a Redis sorted set of post ids scored by their due time.

Celery's ETA and countdown are not used for this: with the Redis broker a task held for
later is redelivered after the visibility timeout, and a post scheduled a day ahead would
be published twice. Beat runs the dispatcher every second instead; it takes the due ids
out of the set in one atomic step, so two dispatchers never take the same post, and the
database (planned -> queued, conditionally) stays the judge of what is published. The set
is rebuilt from the database by the sweeper, so losing it loses no post.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import redis

DUE = "newsroom:social:due"

# ZRANGEBYSCORE and ZREM in one step: nothing can take the same ids in between.
_TAKE_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
if #ids > 0 then redis.call('ZREM', KEYS[1], unpack(ids)) end
return ids
"""


def schedule(client: redis.Redis, posts: Iterable[tuple[int, datetime]]) -> None:
    """Set (or move) each post's due time."""
    mapping = {str(post_id): at.timestamp() for post_id, at in posts}
    if mapping:
        client.zadd(DUE, mapping)


def unschedule(client: redis.Redis, post_ids: Iterable[int]) -> None:
    ids = [str(post_id) for post_id in post_ids]
    if ids:
        client.zrem(DUE, *ids)


def take_due(client: redis.Redis, now: datetime, limit: int = 100) -> list[int]:
    """Remove and return the ids of the posts due at ``now``, earliest first."""
    ids = client.eval(_TAKE_DUE, 1, DUE, now.timestamp(), limit)
    return [int(post_id) for post_id in ids]  # type: ignore[union-attr]
