"""Newsletter schedules: which cron slot is due, and queuing it exactly once.

Slots are computed by croniter in the newsletter's own time zone, so a 07:00 edition stays
at 07:00 local time across daylight-saving changes. A slot is claimed by the unique
(newsletter, schedule_slot) pair, so two beat processes, or one restarted, never queue the
same edition twice; a slot with no new article is recorded as skipped, never sent empty.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from worker.digests._editions import DigestTooLarge, NothingToSend, prepare_digest
from worker.settings import ScheduleConfig, Settings
from worker.store import digests, newsletters

log = logging.getLogger(__name__)

# A slot missed while beat was down is still sent if beat is back within this delay.
CATCH_UP = timedelta(hours=1)


def latest_slot(schedule: ScheduleConfig, now: datetime) -> datetime:
    """The latest cron occurrence at or before ``now``, in UTC."""
    local_now = now.astimezone(ZoneInfo(schedule.timezone))
    slot = croniter(schedule.cron, local_now + timedelta(microseconds=1)).get_prev(datetime)
    return slot.astimezone(UTC)


def next_slot(schedule: ScheduleConfig, now: datetime) -> datetime:
    local_now = now.astimezone(ZoneInfo(schedule.timezone))
    return croniter(schedule.cron, local_now).get_next(datetime).astimezone(UTC)


def queue_scheduled(
    sessions: sessionmaker[Session], settings: Settings, *, now: datetime
) -> list[int]:
    """Create the digests whose slot has come; returns the ids to dispatch, including digests
    queued by an editor for a time that has now come."""
    queued: list[int] = []
    for slug, config in settings.file.newsletters.items():
        if config.schedule is None:
            continue
        slot = latest_slot(config.schedule, now)
        if now - slot > CATCH_UP:
            continue
        try:
            with sessions.begin() as session:
                newsletter = newsletters.get_by_slug(session, slug)
                if newsletter is None or digests.slot_taken(session, newsletter.id, slot):
                    continue
                try:
                    digest, recipients = prepare_digest(
                        session,
                        slug,
                        config,
                        now=now,
                        timezone=settings.file.site.timezone,  # the paper's date
                        scheduled_at=slot,
                        schedule_slot=slot,
                    )
                except (NothingToSend, DigestTooLarge) as exc:
                    # nothing new is routine; too large for Gmail (a clipped email hides its
                    # unsubscribe link) waits for an editor, who may queue it with force
                    digests.record_skipped(session, newsletter, slot, str(exc))
                    level = logging.WARNING if isinstance(exc, DigestTooLarge) else logging.INFO
                    log.log(level, "scheduled digest skipped: %s", exc)
                    continue
                log.info("digest %s (%s) queued for %s subscribers", digest.id, slug, recipients)
        except IntegrityError:
            continue  # another beat took this slot first
    with sessions.begin() as session:
        queued = digests.due_queued(session, now)
    return queued
