"""Schedules: cron slots in the newsletter's time zone, queued once, skipped when empty."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TEST_CONFIG, environment
from tests.db import create_article, create_subscriber
from worker.digests import (
    GMAIL_CLIP_BYTES,
    latest_slot,
    next_slot,
    prepare_digest,
    queue_scheduled,
)
from worker.settings import ScheduleConfig, Settings, load_settings
from worker.store import DigestStatus, digests, newsletters

SEVEN_IN_PARIS = ScheduleConfig(cron="0 7 * * *", timezone="Europe/Paris")


def test_a_local_time_stays_local_across_daylight_saving() -> None:
    # Europe/Paris moves from UTC+1 to UTC+2 on 29 March 2026 and back on 25 October.
    winter = latest_slot(SEVEN_IN_PARIS, datetime(2026, 3, 28, 12, tzinfo=UTC))
    summer = latest_slot(SEVEN_IN_PARIS, datetime(2026, 3, 30, 12, tzinfo=UTC))
    autumn = latest_slot(SEVEN_IN_PARIS, datetime(2026, 10, 26, 12, tzinfo=UTC))
    assert winter == datetime(2026, 3, 28, 6, tzinfo=UTC)
    assert summer == datetime(2026, 3, 30, 5, tzinfo=UTC)
    assert autumn == datetime(2026, 10, 26, 6, tzinfo=UTC)


def test_the_slot_at_the_exact_time_is_the_current_one() -> None:
    at_seven = datetime(2026, 11, 24, 6, tzinfo=UTC)
    assert latest_slot(SEVEN_IN_PARIS, at_seven) == at_seven
    assert next_slot(SEVEN_IN_PARIS, at_seven) == at_seven + timedelta(days=1)


def test_weekdays_only() -> None:
    weekdays = ScheduleConfig(cron="30 12 * * 1-5", timezone="Europe/Paris")
    sunday = datetime(2026, 11, 29, 15, tzinfo=UTC)
    assert latest_slot(weekdays, sunday) == datetime(2026, 11, 27, 11, 30, tzinfo=UTC)


def scheduled_settings(
    tmp_path, database_url: str, cron: str = "0 7 * * *", timezone: str = "Europe/Paris"
) -> Settings:
    config = tmp_path / "scheduled.toml"
    config.write_text(
        TEST_CONFIG.read_text()
        + f'\n[newsletters.la-matinale.schedule]\ncron = "{cron}"\ntimezone = "{timezone}"\n'
    )
    return load_settings(
        environment(tmp_path, NEWSROOM_CONFIG=str(config), DATABASE_URL=database_url)
    )


def add_a_reader(session: Session, settings: Settings) -> None:
    """The newsletters in the database, and one confirmed reader of La Matinale."""
    newsletters.sync(session, settings.file.newsletters)
    create_subscriber(
        session, "camille@example.org", newsletters.get_by_slug(session, "la-matinale")
    )


def test_a_slot_is_queued_once_and_an_empty_one_is_skipped(
    tmp_path, database_url: str, sessions: sessionmaker[Session]
) -> None:
    settings = scheduled_settings(tmp_path, database_url)
    slot = datetime(2026, 11, 24, 6, tzinfo=UTC)
    with sessions.begin() as session:
        add_a_reader(session, settings)

    # nothing published yet: the slot is recorded as skipped, and only once
    assert queue_scheduled(sessions, settings, now=slot + timedelta(minutes=1)) == []
    assert queue_scheduled(sessions, settings, now=slot + timedelta(minutes=2)) == []
    with sessions.begin() as session:
        (skipped,) = digests.latest(session)
        assert skipped.status is DigestStatus.SKIPPED
        assert skipped.schedule_slot == slot

    # the next morning an article is there: one digest, however often beat asks
    with sessions.begin() as session:
        create_article(session, published_at=slot + timedelta(hours=2))
    tomorrow = slot + timedelta(days=1)
    first = queue_scheduled(sessions, settings, now=tomorrow + timedelta(seconds=5))
    again = queue_scheduled(sessions, settings, now=tomorrow + timedelta(seconds=35))
    assert len(first) == 1
    assert again == first  # still queued (no worker here): dispatched again, never re-created
    with sessions.begin() as session:
        latest = digests.latest(session)
        assert [d.status for d in latest] == [DigestStatus.QUEUED, DigestStatus.SKIPPED]


def test_a_slot_missed_for_too_long_is_not_sent(
    tmp_path, database_url: str, sessions: sessionmaker[Session]
) -> None:
    settings = scheduled_settings(tmp_path, database_url)
    with sessions.begin() as session:
        newsletters.sync(session, settings.file.newsletters)
        create_article(session)
    late = datetime(2026, 11, 24, 9, tzinfo=UTC)  # two hours after 07:00 in Paris
    assert queue_scheduled(sessions, settings, now=late) == []


def test_an_edition_gmail_would_clip_is_skipped_for_an_editor_and_blocks_nothing(
    tmp_path, database_url: str, sessions: sessionmaker[Session]
) -> None:
    settings = scheduled_settings(tmp_path, database_url)
    slot = datetime(2026, 11, 24, 6, tzinfo=UTC)
    with sessions.begin() as session:
        add_a_reader(session, settings)
        for n in range(1, 6):
            long = "Un long résumé. " * (GMAIL_CLIP_BYTES // 60)
            create_article(session, n, summary=long, published_at=slot - timedelta(hours=n))
        create_article(session, 9, language="en", published_at=slot - timedelta(hours=1))
        # queued by an editor for this morning: the clipped edition must not hold it up
        (waiting, _) = prepare_digest(
            session,
            "morning-briefing",
            settings.file.newsletters["morning-briefing"],
            now=slot,
            timezone="Europe/Paris",
            scheduled_at=slot,
            force=True,
        )
        waiting_id = waiting.id

    assert queue_scheduled(sessions, settings, now=slot + timedelta(minutes=1)) == [waiting_id]
    with sessions.begin() as session:
        skipped = next(d for d in digests.latest(session) if d.id != waiting_id)
        assert skipped.status is DigestStatus.SKIPPED
        assert "over Gmail's 102 KB clipping limit" in skipped.subject


def test_an_edition_is_dated_by_the_papers_time_zone_whatever_the_schedules(
    tmp_path, database_url: str, sessions: sessionmaker[Session]
) -> None:
    # 23:00 in New York on the 24th is 05:00 in Paris on the 25th: the paper's date
    settings = scheduled_settings(tmp_path, database_url, "0 23 * * *", "America/New_York")
    slot = datetime(2026, 11, 25, 4, tzinfo=UTC)
    with sessions.begin() as session:
        add_a_reader(session, settings)
        create_article(session, published_at=slot - timedelta(hours=1))
    (digest_id,) = queue_scheduled(sessions, settings, now=slot + timedelta(minutes=1))
    with sessions.begin() as session:
        digest = digests.get(session, digest_id)
        assert digest is not None
        assert digest.subject == "La Matinale – mercredi 25 novembre 2026"
