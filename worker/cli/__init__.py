"""newsroom: articles in, email digests and social posts out. A thin layer over the
same functions the workers call."""

from __future__ import annotations

import os

import typer

from worker import logs
from worker.cli import articles, digests, editors, newsletters, social, subscribers, system

cli = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
cli.add_typer(system.config_cli, name="config")
cli.add_typer(system.db_cli, name="db")
cli.add_typer(articles.cli, name="articles")
cli.add_typer(newsletters.cli, name="newsletters")
cli.add_typer(digests.cli, name="digest")
cli.add_typer(social.cli, name="social")
cli.add_typer(subscribers.cli, name="subscribers")
cli.add_typer(editors.cli, name="editors")
cli.add_typer(system.redis_cli, name="redis")
cli.command()(system.worker)
cli.command()(system.beat)
cli.command()(system.flower)
cli.command()(system.demo)
cli.command()(system.web)
cli.command()(system.health)

__all__ = ["cli", "main"]


def main() -> None:
    logs.configure(os.environ.get("LOG_LEVEL", "WARNING"), os.environ.get("LOG_FORMAT", "text"))
    cli()
