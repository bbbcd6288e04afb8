"""The ``newsroom`` command: a thin layer over the same functions the workers call."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from worker import demo as demo_job
from worker.articles import ImportSummary, import_records, parse_source
from worker.celery_app import app as celery_app
from worker.celery_app import connect
from worker.digests import NothingToSend
from worker.dispatch import announce_article, queue_digest
from worker.embedded_redis import EmbeddedRedis
from worker.settings import ConfigError, Settings, get_settings
from worker.store import DeliveryStatus, digests, newsletters, session_factory, upgrade
from worker.store import articles as article_store

console = Console()
errors = Console(stderr=True)

cli = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
config_cli = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
db_cli = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
articles_cli = typer.Typer(help="Import and list articles.", no_args_is_help=True)
digest_cli = typer.Typer(help="Queue and follow email digests.", no_args_is_help=True)
redis_cli = typer.Typer(help="The embedded Redis of the data directory.", no_args_is_help=True)
cli.add_typer(config_cli, name="config")
cli.add_typer(db_cli, name="db")
cli.add_typer(articles_cli, name="articles")
cli.add_typer(digest_cli, name="digest")
cli.add_typer(redis_cli, name="redis")


def _settings() -> Settings:
    try:
        return get_settings()
    except ConfigError as exc:
        errors.print(f"[bold red]configuration error[/]\n{exc}", markup=True, highlight=False)
        raise typer.Exit(2) from None


def _prepared() -> Settings:
    """Settings, an up-to-date schema, newsletters synced, and Celery pointed at its broker."""
    settings = _settings()
    upgrade(settings.database_url)
    with session_factory(settings.database_url).begin() as session:
        newsletters.sync(session, settings.file.newsletters)
    connect(settings)
    return settings


@config_cli.command("check")
def config_check() -> None:
    """Validate the configuration and print it, secrets masked."""
    settings = _settings()
    console.print_json(json.dumps(settings.masked(), default=str, ensure_ascii=False))


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations."""
    settings = _settings()
    upgrade(settings.database_url)
    console.print("database is up to date")


@articles_cli.command("import")
def articles_import(
    sources: Annotated[
        list[str],
        typer.Argument(help="JSON files, RSS/Atom feeds or article pages: paths or URLs."),
    ],
) -> None:
    """Import articles; the same URL again updates the article, never duplicates it."""
    settings = _prepared()
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


@articles_cli.command("list")
def articles_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """List articles, newest first."""
    settings = _settings()
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


@digest_cli.command("queue")
def digest_queue(newsletter: str) -> None:
    """Render the next digest of NEWSLETTER and queue it for every confirmed subscriber."""
    settings = _prepared()
    config = settings.file.newsletters.get(newsletter)
    if config is None:
        known = ", ".join(settings.file.newsletters) or "none"
        errors.print(f"unknown newsletter {newsletter!r} (configured: {known})")
        raise typer.Exit(2)
    try:
        digest_id, recipients = queue_digest(settings, newsletter)
    except NothingToSend as exc:
        errors.print(str(exc))
        raise typer.Exit(1) from None
    console.print(f"digest {digest_id} queued for {recipients} subscribers")


@digest_cli.command("status")
def digest_status(digest_id: int) -> None:
    """Show a digest's delivery counts."""
    settings = _settings()
    with session_factory(settings.database_url).begin() as session:
        digest = digests.get(session, digest_id)
        if digest is None:
            errors.print(f"no digest {digest_id}")
            raise typer.Exit(1)
        counts = digests.counts(session, digest_id)
        console.print(f"digest {digest_id} ({digest.newsletter.slug}): {digest.status.value}")
    for status in DeliveryStatus:
        console.print(f"  {status.value:8} {counts[status]}")


@cli.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Start a Celery worker (JSON, acks_late, prefetch 1, time limits)."""
    _prepared()
    celery_app.worker_main(
        ["worker", f"--loglevel={loglevel}", f"--concurrency={concurrency}", "--without-gossip"]
    )


@cli.command()
def beat(loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO") -> None:
    """Start Celery beat, the scheduler of periodic tasks."""
    _prepared()
    celery_app.start(["beat", f"--loglevel={loglevel}"])


@redis_cli.command("status")
def redis_status() -> None:
    """Whether the embedded Redis of the data directory is running."""
    settings = _settings()
    if settings.redis_url:
        console.print("REDIS_URL is set: the embedded Redis is not used")
        return
    embedded = EmbeddedRedis(settings.data_dir)
    console.print(f"{embedded.socket}: {'running' if embedded.is_running() else 'stopped'}")


@redis_cli.command("stop")
def redis_stop() -> None:
    """Stop the embedded Redis, saving its data."""
    settings = _settings()
    stopped = EmbeddedRedis(settings.data_dir).stop()
    console.print("stopped" if stopped else "was not running")


@cli.command()
def demo(
    samples: Annotated[
        Path, typer.Option(help="Folder with articles.json and subscribers.csv.")
    ] = demo_job.SAMPLES_DIR,
) -> None:
    """The main job on embedded defaults: import the samples, send a digest to the outbox."""
    settings = _prepared()
    report = demo_job.run(settings, samples, console=console)
    if not report.ok:
        raise typer.Exit(1)


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    cli()


if __name__ == "__main__":
    main()
