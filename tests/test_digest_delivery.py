"""A digest delivered by real worker processes (and beat) through a real SMTP server:
pause and resume, a worker killed mid-digest, the shared rate limit and schedules."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import BOTH_BROKERS, SmtpSink, WorkerProcess, start_worker, wait_until
from tests.db import create_article, create_subscriber
from worker.dispatch import change_digest, queue_digest
from worker.settings import Settings
from worker.store import DeliveryStatus, DigestStatus, digests, newsletters, utcnow

pytestmark = BOTH_BROKERS

FAST_RECOVERY = """
[delivery]
batch_size = 10
rate_per_second = 25
sweep_seconds = 1
stall_seconds = 2
stale_claim_seconds = 2
"""


def seed(settings: Settings, sessions: sessionmaker[Session], subscribers: int) -> list[str]:
    emails = [f"reader{n:03}@example.org" for n in range(subscribers)]
    with sessions.begin() as session:
        newsletters.sync(session, settings.file.newsletters)
        matinale = newsletters.get_by_slug(session, "la-matinale")
        create_article(session)
        for email in emails:
            create_subscriber(session, email, matinale)
    return emails


def status_of(sessions: sessionmaker[Session], digest_id: int) -> DigestStatus:
    with sessions.begin() as session:
        digest = digests.get(session, digest_id)
        assert digest is not None
        return digest.status


def counts_of(sessions: sessionmaker[Session], digest_id: int) -> dict[DeliveryStatus, int]:
    with sessions.begin() as session:
        return digests.counts(session, digest_id)


def assert_nobody_twice_nobody_skipped(
    smtp_server: SmtpSink,
    sessions: sessionmaker[Session],
    digest_id: int,
    emails: list[str],
    *,
    in_flight: int,
) -> None:
    """After a fault: each reader received at most one copy, and every row is sent or, for
    at most the ``in_flight`` messages the fault caught mid-send, unknown."""
    received = smtp_server.per_recipient()
    assert set(received.values()) == {1}, "somebody received two copies"
    counts = counts_of(sessions, digest_id)
    assert counts[DeliveryStatus.SENT] + counts[DeliveryStatus.UNKNOWN] == len(emails)
    assert counts[DeliveryStatus.UNKNOWN] <= in_flight
    assert len(received) >= len(emails) - in_flight


@pytest.mark.newsroom_config(FAST_RECOVERY)
def test_pause_and_resume_neither_resend_nor_skip(
    settings: Settings,
    sessions: sessionmaker[Session],
    smtp_server: SmtpSink,
    worker: WorkerProcess,
) -> None:
    emails = seed(settings, sessions, 60)
    digest_id, _ = queue_digest(settings, "la-matinale")
    wait_until(lambda: len(smtp_server.messages) >= 10, why=worker.log)
    change_digest(settings, digest_id, "pause")
    paused_at = len(smtp_server.messages)
    wait_until(lambda: counts_of(sessions, digest_id)[DeliveryStatus.SENDING] == 0)
    assert status_of(sessions, digest_id) is DigestStatus.PAUSED
    settled = len(smtp_server.messages)
    assert settled <= paused_at + 2  # at most the messages in flight at the pause
    assert settled < len(emails)

    change_digest(settings, digest_id, "resume")
    wait_until(lambda: status_of(sessions, digest_id) is DigestStatus.SENT, why=worker.log)
    assert smtp_server.per_recipient() == dict.fromkeys(emails, 1)

    # the shared rate: never more than a second's burst plus a second's rate in any second
    times = smtp_server.received_at
    busiest = max(sum(1 for t in times if start <= t < start + 1) for start in times)
    assert busiest <= 2 * 25


@pytest.mark.newsroom_config(FAST_RECOVERY)
def test_cancel_sends_nothing_more(
    settings: Settings,
    sessions: sessionmaker[Session],
    smtp_server: SmtpSink,
    worker: WorkerProcess,
) -> None:
    seed(settings, sessions, 60)
    digest_id, _ = queue_digest(settings, "la-matinale")
    wait_until(lambda: len(smtp_server.messages) >= 5)
    change_digest(settings, digest_id, "cancel")
    wait_until(lambda: counts_of(sessions, digest_id)[DeliveryStatus.SENDING] == 0)
    after_cancel = len(smtp_server.messages)
    counts = counts_of(sessions, digest_id)
    assert counts[DeliveryStatus.SENT] == after_cancel
    assert counts[DeliveryStatus.CANCELLED] == 60 - after_cancel
    assert status_of(sessions, digest_id) is DigestStatus.CANCELLED
    with pytest.raises(ValueError, match="cannot resume"):
        change_digest(settings, digest_id, "resume")


@pytest.mark.newsroom_config(FAST_RECOVERY)
def test_a_worker_killed_mid_digest_leaves_nobody_twice_and_nobody_skipped(
    settings_env: dict[str, str],
    settings: Settings,
    sessions: sessionmaker[Session],
    smtp_server: SmtpSink,
    tmp_path: Path,
) -> None:
    emails = seed(settings, sessions, 60)
    first = start_worker(settings_env, tmp_path / "first.log", concurrency=1)
    digest_id, _ = queue_digest(settings, "la-matinale")
    wait_until(lambda: len(smtp_server.messages) >= 15, why=first.log)
    first.kill()  # SIGKILL, worker and pool child: no ack, no cleanup
    killed_at = len(smtp_server.messages)

    second = start_worker(settings_env, tmp_path / "second.log", concurrency=2)
    beat = start_worker(settings_env, tmp_path / "beat.log", command="beat")
    try:
        wait_until(
            lambda: status_of(sessions, digest_id) is DigestStatus.SENT,
            timeout=60,
            why=tmp_path / "beat.log",
        )
    finally:
        beat.discard()
        second.discard()

    # at most the message in flight at the kill is unknown
    assert_nobody_twice_nobody_skipped(smtp_server, sessions, digest_id, emails, in_flight=1)
    assert killed_at < len(emails)


SCHEDULED = """
[newsletters.la-matinale.schedule]
cron = "* * * * *"
timezone = "Europe/Paris"

[delivery]
sweep_seconds = 1
"""


@pytest.mark.newsroom_config(SCHEDULED)
def test_beat_sends_a_scheduled_newsletter_once_per_slot(
    settings_env: dict[str, str],
    settings: Settings,
    sessions: sessionmaker[Session],
    smtp_server: SmtpSink,
    worker: WorkerProcess,
    tmp_path: Path,
) -> None:
    emails = seed(settings, sessions, 3)
    beat = start_worker(settings_env, tmp_path / "beat.log", command="beat")
    try:
        wait_until(lambda: len(smtp_server.messages) == 3, why=tmp_path / "beat.log")
        with sessions.begin() as session:
            (digest,) = digests.latest(session)
            assert digest.schedule_slot is not None
            assert digest.schedule_slot.second == 0
            assert utcnow() - digest.schedule_slot < timedelta(minutes=2)
    finally:
        beat.discard()
    assert smtp_server.per_recipient() == dict.fromkeys(emails, 1)


@pytest.mark.newsroom_config("[delivery]\nsweep_seconds = 1\n")
def test_a_digest_queued_for_later_waits_for_its_time(
    settings_env: dict[str, str],
    settings: Settings,
    sessions: sessionmaker[Session],
    smtp_server: SmtpSink,
    worker: WorkerProcess,
    tmp_path: Path,
) -> None:
    seed(settings, sessions, 2)
    at = utcnow() + timedelta(seconds=4)
    digest_id, _ = queue_digest(settings, "la-matinale", at=at)
    beat = start_worker(settings_env, tmp_path / "beat.log", command="beat")
    try:
        wait_until(lambda: status_of(sessions, digest_id) is DigestStatus.SENT, timeout=30)
    finally:
        beat.discard()
    with sessions.begin() as session:
        digest = digests.get(session, digest_id)
        assert digest is not None
        assert digest.started_at is not None
        assert digest.started_at >= at
