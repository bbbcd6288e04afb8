"""The send journal in real Redis: revocation of dead runs, lost journals, settlement."""

from __future__ import annotations

import time
import uuid

import pytest
import redis

from worker.delivery._journal import Journal, RunRevoked, journal_key, read, revoke


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


def test_a_live_run_cannot_be_revoked_a_silent_one_can(client: redis.Redis) -> None:
    token = str(uuid.uuid4())
    journal = Journal(client, token, digest_id=1, alive_seconds=1)
    assert journal.step(result=None, attempt=10) is False
    assert not revoke(client, token)  # it just showed a sign of life
    time.sleep(1.2)
    assert revoke(client, token)
    with pytest.raises(RunRevoked):
        journal.step(result=(10, "sent", "<m@x>"), attempt=11)
    settlement = read(client, token)
    assert settlement.in_flight == {10}  # its result came after the take-over: not recorded
    assert settlement.results == {}


def test_keep_alive_protects_a_waiting_run(client: redis.Redis) -> None:
    token = str(uuid.uuid4())
    journal = Journal(client, token, digest_id=1, alive_seconds=1)
    time.sleep(0.7)
    journal.keep_alive()
    time.sleep(0.7)
    assert not revoke(client, token)


def test_a_lost_journal_stops_the_run_and_settles_as_lost(client: redis.Redis) -> None:
    token = str(uuid.uuid4())
    journal = Journal(client, token, digest_id=1, alive_seconds=30)
    journal.step(result=None, attempt=1)
    journal.step(result=(1, "sent", "<1@x>"), attempt=2)
    client.delete(journal_key(token))  # Redis restarted without its data
    with pytest.raises(RunRevoked):
        journal.step(result=(2, "sent", "<2@x>"), attempt=3)
    assert not read(client, token).journal_found


def test_settlement_reads_results_and_the_message_in_flight(client: redis.Redis) -> None:
    token = str(uuid.uuid4())
    journal = Journal(client, token, digest_id=1, alive_seconds=30)
    journal.step(result=None, attempt=1)
    journal.step(result=(1, "sent", "<1@x>"), attempt=2)
    journal.step(result=(2, "bounced", "550 5.1.1 no such user"), attempt=3)
    settlement = read(client, token)
    assert settlement.journal_found
    assert settlement.results == {1: ("sent", "<1@x>"), 2: ("bounced", "550 5.1.1 no such user")}
    assert settlement.in_flight == {3}


def test_a_halted_digest_records_the_result_but_not_the_next_attempt(client: redis.Redis) -> None:
    token = str(uuid.uuid4())
    journal = Journal(client, token, digest_id=424242, alive_seconds=30)
    journal.step(result=None, attempt=1)
    client.set("newsroom:digest:424242:halt", "1")
    try:
        assert journal.step(result=(1, "sent", "<1@x>"), attempt=2) is True
    finally:
        client.delete("newsroom:digest:424242:halt")
    settlement = read(client, token)
    assert settlement.results == {1: ("sent", "<1@x>")}
    assert settlement.in_flight == set()
