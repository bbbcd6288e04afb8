"""newsroom config, db, redis, worker, beat, flower, web, health and demo: running the service."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from worker import demo as demo_job
from worker import health as health_checks
from worker.celery_app import app as celery_app
from worker.cli._common import console, errors, fail, prepared, settings_or_exit
from worker.embedded_redis import EmbeddedRedis
from worker.settings import _environment, mask_url
from worker.store import upgrade

config_cli = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
db_cli = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
redis_cli = typer.Typer(help="The embedded Redis of the data directory.", no_args_is_help=True)


@config_cli.command("check")
def config_check() -> None:
    """Validate the configuration and print it, secrets masked."""
    settings = settings_or_exit()
    console.print_json(json.dumps(settings.masked(), default=str, ensure_ascii=False))


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations."""
    settings = settings_or_exit()
    upgrade(settings.database_url)
    console.print("database is up to date")


@redis_cli.command("status")
def redis_status() -> None:
    """Whether the embedded Redis of the data directory is running."""
    settings = settings_or_exit()
    if not settings.embedded_redis:
        console.print("REDIS_URL is set: the embedded Redis is not used")
        return
    embedded = EmbeddedRedis(settings.data_dir)
    console.print(f"{embedded.socket}: {'running' if embedded.is_running() else 'stopped'}")


@redis_cli.command("stop")
def redis_stop() -> None:
    """Stop the embedded Redis, saving its data."""
    settings = settings_or_exit()
    stopped = EmbeddedRedis(settings.data_dir).stop()
    console.print("stopped" if stopped else "was not running")


def worker(
    concurrency: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
    queues: Annotated[
        str, typer.Option(help="Queues to take work from: newsroom (email), social, or both.")
    ] = "newsroom,social",
    hostname: Annotated[
        str, typer.Option(help="Node name, unique per worker (several on one host: email@%h).")
    ] = "celery@%h",
) -> None:
    """Start a Celery worker (JSON, acks_late, prefetch 1, time limits)."""
    prepared()
    celery_app.worker_main(
        [
            "worker",
            f"--loglevel={loglevel}",
            f"--concurrency={concurrency}",
            f"--queues={queues}",
            f"--hostname={hostname}",
            # Gossip and mingle sync Celery's revoked-task lists between nodes; a cancel here
            # is a database state every worker reads, and mingle costs each start a second.
            "--without-gossip",
            "--without-mingle",
        ]
    )


def beat(loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO") -> None:
    """Start Celery beat: schedules, the digest sweeper and the event sweeper."""
    prepared()
    celery_app.start(["beat", f"--loglevel={loglevel}"])


def flower(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5555,
    address: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Start Flower, Celery's monitoring web UI, on the configured broker. Basic auth comes
    from FLOWER_BASIC_AUTH (user:password[,user:password]) in the environment or .env only:
    an option would put the password in the process list and the shell history."""
    if importlib.util.find_spec("flower") is None:
        raise fail("Flower is not installed: pip install 'newsroom[ops]'", 2)
    args = ["flower", f"--port={port}", f"--address={address}"]
    # the same lookup as the settings: the environment wins over .env
    basic_auth = _environment(None, None).get("FLOWER_BASIC_AUTH", "")
    if basic_auth:
        pairs = [entry.partition(":") for entry in basic_auth.split(",")]
        if not all(user and password for user, _, password in pairs):
            # Flower would silently refuse everyone; the value itself is never printed
            raise fail("FLOWER_BASIC_AUTH: expected user:password[,user:password]", 2)
        args.append(f"--basic_auth={basic_auth}")  # parsed in this process, not a command line
    elif address not in ("127.0.0.1", "localhost", "::1"):
        # anyone who reaches it can shut workers down and revoke tasks through its API
        errors.print(f"warning: Flower on {address} without FLOWER_BASIC_AUTH", highlight=False)
    prepared()
    broker = mask_url(str(celery_app.conf.broker_url))  # set by prepared()
    console.print(f"Flower on http://{address}:{port}, broker {broker}", highlight=False)
    celery_app.start(args)


def demo(
    samples: Annotated[
        Path, typer.Option(help="Folder with articles.json and subscribers.csv.")
    ] = demo_job.SAMPLES_DIR,
) -> None:
    """The main job on embedded defaults: import the samples, send a digest to the outbox."""
    settings = prepared()
    report = demo_job.run(settings, samples, console=console)
    if not report.ok:
        raise typer.Exit(1)


def web(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Start the web app (uvicorn): the CMS webhook, the readers' pages, /health, /docs."""
    # imported here: every other command would pay for loading the web stack
    import uvicorn

    from worker.web import create_app

    # log_config=None: uvicorn's loggers (the access log with its paths) go through ours,
    # which redacts the addresses and tokens in them
    app = create_app(prepared())
    uvicorn.run(app, host=host, port=port, proxy_headers=True, log_config=None)


def health(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    only: Annotated[
        list[health_checks.CheckName] | None,
        typer.Option(help="Run only this check (repeatable), e.g. for a container healthcheck."),
    ] = None,
    node: Annotated[
        str | None,
        typer.Option(help="The workers check asks only this node (celery@host) to answer."),
    ] = None,
) -> None:
    """Database, Redis, broker, workers, queues, beat lag and social accounts, as GET /health
    reports them; exit status 1 when anything is unhealthy."""
    report = health_checks.check(settings_or_exit(), only=only or (), node=node)
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
    else:
        console.print(f"newsroom is {'healthy' if report.healthy else '[bold red]unhealthy[/]'}")
        for name, outcome in report.checks.items():
            mark = "[green]ok[/]  " if outcome.ok else "[bold red]FAIL[/]"
            console.print(f"  {mark} {name:<16} {escape(outcome.detail)}", highlight=False)
    if not report.healthy:
        raise typer.Exit(1)
