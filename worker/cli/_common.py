"""What every command group shares: the consoles, the start-up checks and the audit log."""

from __future__ import annotations

import getpass
import os
import socket
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from worker.celery_app import connect
from worker.settings import ConfigError, Settings, get_settings
from worker.store import editors, newsletters, session_factory, upgrade

console = Console()
# Never hard-wrapped: a "FILE:LINE: reason" must stay one line for grep and editors, even
# when standard error is not a terminal (rich would wrap at 80 columns).
errors = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` on standard error and give the exit to raise."""
    errors.print(message, highlight=False, markup=False)
    return typer.Exit(code)


def settings_or_exit() -> Settings:
    try:
        return get_settings()
    except ConfigError as exc:
        errors.print(f"[bold red]configuration error[/]\n{exc}", markup=True, highlight=False)
        raise typer.Exit(2) from None


def database_ready() -> Settings:
    """Settings, an up-to-date schema and the configured newsletters in the database."""
    settings = settings_or_exit()
    upgrade(settings.database_url)
    with session_factory(settings.database_url).begin() as session:
        newsletters.sync(session, settings.file.newsletters)
    return settings


def prepared() -> Settings:
    """As database_ready(), with Celery pointed at its broker (for commands that enqueue)."""
    settings = database_ready()
    connect(settings)
    return settings


def shell_user() -> str:
    """How the audit log names a change made with these commands (the web app names the
    editor): the shell user and the host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container's user with no passwd entry and no $USER
        user = str(os.getuid())
    return f"cli:{user}@{socket.gethostname()}"


def audit(settings: Settings, action: str, target: str, **detail: Any) -> None:
    """Record a change made by a command that holds no database session of its own."""
    with session_factory(settings.database_url).begin() as session:
        editors.record(session, shell_user(), action, target, **detail)


def newsletter_or_exit(settings: Settings, slug: str) -> str:
    if slug not in settings.file.newsletters:
        known = ", ".join(settings.file.newsletters) or "none"
        raise fail(f"unknown newsletter {slug!r} (configured: {known})", 2)
    return slug


def parse_time(value: str, timezone: str) -> datetime:
    """An ISO 8601 time; without an offset it is read in the site's time zone."""

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"--at: {value!r} is not an ISO 8601 time such as 2026-11-24T07:00", 2) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))
