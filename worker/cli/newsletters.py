"""newsroom newsletters: what is configured and who receives it."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from worker.cli._common import console, database_ready
from worker.digests import newsletters_overview
from worker.store import session_factory, utcnow

cli = typer.Typer(help="The newsletters defined in config/.", no_args_is_help=True)


@cli.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Each newsletter's name, language, schedule and subscriber counts."""
    settings = database_ready()
    with session_factory(settings.database_url).begin() as session:
        rows = newsletters_overview(session, settings, utcnow())
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
