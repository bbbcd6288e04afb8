"""The send journal: what a batch run attempted and what came of it, one Redis call a message.

A batch claims its rows in the database in one transaction, then, before each send, one
Lua call appends the previous message's result and the next message's attempt to the run's
journal (a Redis list) and reads the digest's halt flag. The database learns the results in
bulk every hundred messages. A commit a message would cost more than the SMTP exchange
(and serializes every worker on SQLite); this costs one loopback round trip.

If the worker dies, the sweeper first revokes the run (atomically, and only if the run has
stopped refreshing its alive key; a revoked run that wakes up sends nothing more), then
settles its rows from the journal: a result is applied as it was, an attempt without a
result (the message in flight) becomes ``unknown``, a row never attempted goes back to
``pending``. Were the journal lost (Redis restarted without persistence), the run stops at
its next step, and if its worker died too every row it held becomes ``unknown``: never
sent twice, at the price of not knowing. One case remains: Redis and the worker failing
in the same second with Redis losing that second of writes (appendfsync everysec) could
resend the messages of that second.

Journal entries: ``B`` (begin), ``A <delivery id>`` (attempt) and
``R <delivery id> <status> <detail>`` (result).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import redis

JOURNAL_TTL_SECONDS = 7 * 24 * 3600
BEGIN = "B"

# KEYS: journal, alive, halt, revoked. ARGV: result entry or "", attempt entry or "", ttls.
# Returns 0 to go on, 1 when the digest is halted (paused, cancelled), 2 when the sweeper
# revoked the run or the journal was lost: then nothing more may be sent.
_STEP = """
if redis.call('EXISTS', KEYS[4]) == 1 or redis.call('LINDEX', KEYS[1], 0) ~= 'B' then
  return 2
end
if ARGV[1] ~= '' then redis.call('RPUSH', KEYS[1], ARGV[1]) end
local halted = redis.call('EXISTS', KEYS[3])
if halted == 0 and ARGV[2] ~= '' then redis.call('RPUSH', KEYS[1], ARGV[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], '1', 'EX', ARGV[4])
return halted
"""

# KEYS: alive, revoked. Taken over only when the run stopped refreshing its alive key.
_REVOKE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
return 1
"""


class RunRevoked(Exception):
    """The sweeper took this run's rows over (it looked dead), or its journal was lost: it
    must send nothing more, and its rows are no longer its own."""


def halt_key(digest_id: int) -> str:
    return f"newsroom:digest:{digest_id}:halt"


def journal_key(token: str) -> str:
    return f"newsroom:journal:{token}"


def alive_key(token: str) -> str:
    return f"newsroom:journal:{token}:alive"


def revoked_key(token: str) -> str:
    return f"newsroom:journal:{token}:revoked"


class Journal:
    """The journal of one batch run, opened (with its BEGIN marker) before the run claims
    anything, so a run that dies at any point can be settled from it."""

    def __init__(
        self, client: redis.Redis, token: str, digest_id: int, *, alive_seconds: float
    ) -> None:
        """``alive_seconds``: how long the run counts as alive after each message (and
        while it waits for the rate limit); the sweeper settles a run only once that has
        passed with no sign of life."""
        self.client = client
        self.token = token
        self.alive_seconds = max(1, int(alive_seconds))
        self._keys = [
            journal_key(token),
            alive_key(token),
            halt_key(digest_id),
            revoked_key(token),
        ]
        self._sha = client.script_load(_STEP)
        # one connection held for the run, so a step can be sent now and read later
        self._connection = client.connection_pool.get_connection()
        self._pending = False
        pipe = client.pipeline()
        pipe.rpush(journal_key(token), BEGIN)
        pipe.expire(journal_key(token), JOURNAL_TTL_SECONDS)
        pipe.set(alive_key(token), "1", ex=self.alive_seconds)
        pipe.execute()

    def step(self, *, result: tuple[int, str, str] | None, attempt: int | None) -> bool:
        """Record ``result`` (id, status, detail) and, unless the digest is halted, the
        ``attempt`` about to be made. Returns True when the digest was paused or cancelled;
        raises RunRevoked when the run must stop at once."""
        self.begin_step(result=result, attempt=attempt)
        return self.end_step()

    def begin_step(self, *, result: tuple[int, str, str] | None, attempt: int | None) -> None:
        """Send the step without waiting, so the caller can work during the round trip;
        end_step() must be called (and return False) before the attempt is made."""
        done = f"R {result[0]} {result[1]} {result[2]}" if result else ""
        starting = f"A {attempt}" if attempt is not None else ""
        args = [done, starting, JOURNAL_TTL_SECONDS, self.alive_seconds]
        if self._pending:
            self.end_step()
        self._connection.send_command("EVALSHA", self._sha, len(self._keys), *self._keys, *args)
        self._pending = True

    def end_step(self) -> bool:
        self._pending = False
        answer = int(self._connection.read_response())
        if answer == 2:
            raise RunRevoked(f"batch run {self.token} was revoked or lost its journal")
        return answer == 1

    def keep_alive(self) -> None:
        """Called while the run waits (rate limit): waiting is not being dead."""
        self.client.set(alive_key(self.token), "1", ex=self.alive_seconds)

    def close(self, *, keep: bool = False) -> None:
        """Give the connection back and, unless ``keep`` (the sweeper owns the run, or the
        database could not be written), drop the journal: its results are in the database."""
        with contextlib.suppress(redis.RedisError, RunRevoked):
            if self._pending:
                self.end_step()
        self.client.connection_pool.release(self._connection)
        if not keep:
            with contextlib.suppress(redis.RedisError):  # it expires anyway
                self.client.delete(journal_key(self.token), alive_key(self.token))


def revoke(client: redis.Redis, token: str) -> bool:
    """Take a run over, atomically, if it shows no sign of life; True when taken."""
    script = client.register_script(_REVOKE)
    return bool(script(keys=[alive_key(token), revoked_key(token)], args=[JOURNAL_TTL_SECONDS]))


@dataclass
class Settlement:
    """How a crashed run's rows end up."""

    results: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (status, detail)
    in_flight: set[int] = field(default_factory=set)
    journal_found: bool = True


def read(client: redis.Redis, token: str) -> Settlement:
    """What the journal says; a journal without its BEGIN marker (lost, even in part) is
    treated as lost entirely, so nothing it no longer mentions is ever sent again."""
    entries = [raw.decode() for raw in client.lrange(journal_key(token), 0, -1)]
    settlement = Settlement(journal_found=bool(entries) and entries[0] == BEGIN)
    if not settlement.journal_found:
        return settlement
    for entry in entries[1:]:
        kind, delivery_id, *rest = entry.split(" ", 3)
        if kind == "A":
            settlement.in_flight.add(int(delivery_id))
        else:
            settlement.in_flight.discard(int(delivery_id))
            settlement.results[int(delivery_id)] = (rest[0], rest[1] if len(rest) > 1 else "")
    return settlement


def halt(client: redis.Redis, digest_id: int) -> None:
    """Make every running batch of the digest stop before its next message."""
    client.set(halt_key(digest_id), "1", ex=JOURNAL_TTL_SECONDS)


def unhalt(client: redis.Redis, digest_id: int) -> None:
    client.delete(halt_key(digest_id))
