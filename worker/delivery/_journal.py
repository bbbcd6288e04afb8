"""The send journal: what a batch run attempted and what came of it, one Redis call a message.

A batch claims its rows in the database in one transaction, then, before each send, one
Lua call appends the previous message's result and the next message's attempt to the run's
journal (a Redis list) and reads the digest's halt flag. The database learns the results in
bulk every few dozen messages. A commit a message would cost more than the SMTP exchange
(and serializes every worker on SQLite); this costs one loopback round trip.

If the worker dies, the sweeper settles the run's rows from its journal: a result is applied
as it was, an attempt without a result (the message in flight) becomes ``unknown``, a row
never attempted goes back to ``pending``. Were the journal lost as well (Redis restarted
without persistence while the worker died), every row of the run becomes ``unknown``:
never sent twice, at the price of not knowing.

Journal entries: ``A <delivery id>`` (attempt) and ``R <delivery id> <status> <detail>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import redis

JOURNAL_TTL_SECONDS = 7 * 24 * 3600

# KEYS: journal, alive, halt. ARGV: result entry or "", attempt entry or "", ttls.
_STEP = """
if ARGV[1] ~= '' then redis.call('RPUSH', KEYS[1], ARGV[1]) end
local halted = redis.call('EXISTS', KEYS[3])
if halted == 0 and ARGV[2] ~= '' then redis.call('RPUSH', KEYS[1], ARGV[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], '1', 'EX', ARGV[4])
return halted
"""


def halt_key(digest_id: int) -> str:
    return f"newsroom:digest:{digest_id}:halt"


def journal_key(token: str) -> str:
    return f"newsroom:journal:{token}"


def alive_key(token: str) -> str:
    return f"newsroom:journal:{token}:alive"


class Journal:
    """The journal of one batch run."""

    def __init__(
        self, client: redis.Redis, token: str, digest_id: int, *, alive_seconds: float
    ) -> None:
        """``alive_seconds``: how long the run counts as alive after each message; the
        sweeper settles a run only once that has passed."""
        self.client = client
        self.token = token
        self.alive_seconds = max(1, int(alive_seconds))
        self._keys = [journal_key(token), alive_key(token), halt_key(digest_id)]
        self._step = client.register_script(_STEP)

    def step(self, *, result: tuple[int, str, str] | None, attempt: int | None) -> bool:
        """Record ``result`` (id, status, detail) and, unless the digest is halted, the
        ``attempt`` about to be made. Returns True when the digest was paused or cancelled."""
        done = f"R {result[0]} {result[1]} {result[2]}" if result else ""
        starting = f"A {attempt}" if attempt is not None else ""
        halted = self._step(
            keys=self._keys, args=[done, starting, JOURNAL_TTL_SECONDS, self.alive_seconds]
        )
        return bool(halted)

    def close(self) -> None:
        """The run's results are in the database: the journal is no longer needed."""
        self.client.delete(journal_key(self.token), alive_key(self.token))


@dataclass
class Settlement:
    """How a crashed run's rows end up."""

    results: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (status, detail)
    in_flight: set[int] = field(default_factory=set)
    journal_found: bool = True


def read(client: redis.Redis, token: str) -> Settlement:
    entries = client.lrange(journal_key(token), 0, -1)
    settlement = Settlement(journal_found=bool(entries))
    for raw in entries:
        kind, delivery_id, *rest = raw.decode().split(" ", 3)
        if kind == "A":
            settlement.in_flight.add(int(delivery_id))
        else:
            settlement.in_flight.discard(int(delivery_id))
            settlement.results[int(delivery_id)] = (rest[0], rest[1] if len(rest) > 1 else "")
    return settlement


def is_alive(client: redis.Redis, token: str) -> bool:
    return bool(client.exists(alive_key(token)))


def halt(client: redis.Redis, digest_id: int) -> None:
    """Make every running batch of the digest stop before its next message."""
    client.set(halt_key(digest_id), "1", ex=JOURNAL_TTL_SECONDS)


def unhalt(client: redis.Redis, digest_id: int) -> None:
    client.delete(halt_key(digest_id))
