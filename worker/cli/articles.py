"""newsroom articles: import and list."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import httpx
import typer
from rich.table import Table

from worker.articles import ImportSummary, import_records, parse_source
from worker.cli._common import console, errors, prepared, settings_or_exit
from worker.dispatch import announce_article
from worker.store import articles as article_store
from worker.store import session_factory, upgrade

cli = typer.Typer(help="Import and list articles.", no_args_is_help=True)


@cli.command("import")
def import_(
    sources: Annotated[
        list[str],
        typer.Argument(help="JSON files, RSS/Atom feeds or article pages: paths or URLs."),
    ],
) -> None:
    """Import articles; the same URL again updates the article, never duplicates it."""
    settings = prepared()
    sessions = session_factory(settings.database_url)
    total = ImportSummary()
    with httpx.Client(timeout=20, follow_redirects=True) as client:
        for source in sources:
            parsed = parse_source(source, client)
            with sessions.begin() as session:
                summary = import_records(
                    session, parsed.records, source=source, announce=announce_article
                )
            summary.rejected[:0] = parsed.errors
            total.add(summary)
    for error in total.rejected:
        errors.print(f"rejected: {error}", highlight=False, markup=False)
    console.print(
        f"imported {total.imported}, updated {total.updated}, unchanged {total.unchanged}, "
        f"rejected {len(total.rejected)}"
    )
    if total.rejected:
        raise typer.Exit(1)


@cli.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """List articles, newest first."""
    settings = settings_or_exit()
    upgrade(settings.database_url)
    with session_factory(settings.database_url).begin() as session:
        rows = [
            {
                "id": a.id,
                "published_at": a.published_at.isoformat() if a.published_at else None,
                "language": a.language,
                "title": a.title,
                "url": a.url,
            }
            for a in article_store.latest(session, limit=limit)
        ]
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("id", "published", "lang", "title")
    for row in rows:
        table.add_row(str(row["id"]), row["published_at"] or "", row["language"], row["title"])
    console.print(table)
