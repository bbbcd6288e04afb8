"""Each configured newsletter at a glance, for the CLI and the web app alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from worker.digests._schedule import next_slot
from worker.settings import Settings
from worker.store import SubscriptionStatus, newsletters, subscribers


def newsletters_overview(
    session: Session, settings: Settings, now: datetime
) -> list[dict[str, Any]]:
    """Name, title, language, schedule, next slot and subscriber counts per status."""
    counts = subscribers.counts_by_status(session)
    rows = []
    for slug, config in settings.file.newsletters.items():
        newsletter = newsletters.get_by_slug(session, slug)
        if newsletter is None:  # configured, not synced yet: no subscriber either
            by_status = dict.fromkeys(SubscriptionStatus, 0)
        else:
            by_status = counts.get(newsletter.id, dict.fromkeys(SubscriptionStatus, 0))
        schedule = config.schedule
        rows.append(
            {
                "name": slug,
                "title": config.title,
                "language": config.language,
                "schedule": f"{schedule.cron} ({schedule.timezone})" if schedule else None,
                "next_at": next_slot(schedule, now).isoformat() if schedule else None,
                "subscribers": {status.value: n for status, n in by_status.items()},
            }
        )
    return rows
