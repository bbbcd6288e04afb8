"""Settle the rows of batch runs whose worker died, from their journals."""

from __future__ import annotations

import logging
from datetime import timedelta

import redis
from sqlalchemy.orm import Session, sessionmaker

from worker.delivery._journal import journal_key, read, revoke
from worker.store import digests

log = logging.getLogger(__name__)


def settle_dead_runs(
    sessions: sessionmaker[Session], client: redis.Redis, *, older_than: timedelta
) -> dict[str, int]:
    """For each run holding rows since ``older_than`` whose worker no longer refreshes its
    alive key: apply its journaled results, mark the message it had in flight unknown, and
    give back what it never attempted."""
    settled = {"runs": 0, "results": 0, "unknown": 0, "released": 0}
    with sessions.begin() as session:
        tokens = digests.stale_runs(session, older_than=older_than)
    for token in tokens:
        if not revoke(client, token):
            continue  # alive, only slow (rate limited): not ours to settle
        settlement = read(client, token)
        with sessions.begin() as session:
            held = digests.held_by(session, token)
            digest_id = digests.digest_of_run(session, token)
            if not settlement.journal_found:
                digests.mark_unknown(session, token, held, "worker and its journal lost")
                settled["unknown"] += len(held)
                what = f"{len(held)} messages marked unknown (its journal was lost too)"
            else:
                results = [(i, *settlement.results[i]) for i in held if i in settlement.results]
                digests.apply_results(session, token, results)
                in_flight = [i for i in held if i in settlement.in_flight]
                digests.mark_unknown(session, token, in_flight, "worker lost while sending")
                never = [i for i in held if i not in settlement.results and i not in in_flight]
                digests.release(session, token, never)
                settled["results"] += len(results)
                settled["unknown"] += len(in_flight)
                settled["released"] += len(never)
                what = (
                    f"{len(results)} results recorded from its journal, {len(in_flight)} "
                    f"in flight marked unknown, {len(never)} given back to send"
                )
            if digest_id is not None:
                digests.record_event(
                    session,
                    digest_id,
                    f"a batch stopped before recording its results (its worker died, or lost "
                    f"the database): {what}",
                )
        client.delete(journal_key(token))
        settled["runs"] += 1
        log.warning("settled dead batch run %s of digest %s: %s", token, digest_id, what)
    return settled
