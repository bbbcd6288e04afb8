"""A send rate shared by every worker: a token bucket kept in Redis.

Each worker process asks the bucket before each message; the script refills it from the
Redis server's own clock, so workers on several hosts with drifting clocks still share one
rate. A full bucket allows a burst of one second's worth of messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import redis

# KEYS[1]: the bucket. ARGV: rate per second. Returns 0 when a token was taken, else the
# milliseconds to wait for the next one.
_TAKE = """
redis.replicate_commands()
local rate = tonumber(ARGV[1])
local burst = math.max(rate, 1)
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return wait
"""


class RateLimiter:
    def __init__(self, client: redis.Redis, key: str, rate_per_second: float) -> None:
        self.key = key
        self.rate = rate_per_second
        self._take = client.register_script(_TAKE)

    def acquire(self, while_waiting: Callable[[], None] = lambda: None) -> None:
        """Block until this process may send one message, calling ``while_waiting`` at
        each pause (a batch keeps its run alive that way)."""
        while True:
            wait_ms = int(self._take(keys=[self.key], args=[self.rate]))
            if wait_ms == 0:
                return
            while_waiting()
            time.sleep(wait_ms / 1000)


def throttle(limiters: Sequence[RateLimiter]) -> Callable[[Callable[[], None]], None]:
    """One call before each message, honouring every limit that applies to it."""

    def wait_for_all(while_waiting: Callable[[], None]) -> None:
        for limiter in limiters:
            limiter.acquire(while_waiting)

    return wait_for_all
