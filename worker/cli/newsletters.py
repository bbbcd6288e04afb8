"""newsroom newsletters: what is configured and who receives it."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from worker.cli._common import console, database_ready
from worker.digests import next_slot
from worker.store import SubscriptionStatus, newsletters, session_factory, subscribers, utcnow

cli = typer.Typer(help="The newsletters defined in config/.", no_args_is_help=True)


@cli.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Each newsletter's name, language, schedule and subscriber counts."""
    settings = database_ready()
    now = utcnow()
    rows = []
    with session_factory(settings.database_url).begin() as session:
        counts = subscribers.counts_by_status(session)
        for slug, config in settings.file.newsletters.items():
            newsletter = newsletters.get_by_slug(session, slug)
            assert newsletter is not None  # synced by database_ready()
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
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("name", "lang", "schedule", "next", "confirmed", "pending", "left/bounced")
    for row in rows:
        subs = row["subscribers"]
        gone = subs["unsubscribed"] + subs["bounced"] + subs["complained"]
        table.add_row(
            str(row["name"]),
            str(row["language"]),
            str(row["schedule"] or "manual"),
            str(row["next_at"] or ""),
            str(subs["confirmed"]),
            str(subs["pending"]),
            str(gone),
        )
    console.print(table)
