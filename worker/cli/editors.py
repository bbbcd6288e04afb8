"""newsroom editors: who may use the web app and the API, their tokens, the audit log."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from worker.cli._common import console, database_ready, fail, shell_user
from worker.editors import hash_password, new_api_token
from worker.store import Editor, editors, session_factory, utcnow

cli = typer.Typer(help="Editors, their API tokens and the audit log.", no_args_is_help=True)


@cli.command()
def add(
    email: str,
    name: Annotated[str, typer.Option(help="How the editor is shown.")] = "",
) -> None:
    """Add an editor; the password comes from NEWSROOM_EDITOR_PASSWORD or a prompt."""
    settings = database_ready()
    password = os.environ.get("NEWSROOM_EDITOR_PASSWORD") or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    try:
        password_hash = hash_password(password)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    with session_factory(settings.database_url).begin() as session:
        if editors.get_by_email(session, email.strip().lower()):
            raise fail(f"editor {email} exists already", 1)
        editors.add(session, email.strip().lower(), name, password_hash)
        editors.record(session, shell_user(), "editor.add", email.strip().lower())
    console.print(f"editor {email} added")


@cli.command()
def token(
    email: str,
    name: Annotated[str, typer.Option(help="What the token is for, e.g. 'cms'.")],
) -> None:
    """Make an API token for an editor; it is printed once and stored only as a hash."""
    settings = database_ready()
    with session_factory(settings.database_url).begin() as session:
        editor = _editor_or_exit(session, email)
        plain, hashed = new_api_token()
        editors.add_token(session, editor, name, hashed)
        editors.record(session, shell_user(), "token.add", email, name=name)
    sys.stdout.write(plain + "\n")


@cli.command()
def revoke(
    email: str,
    name: Annotated[str, typer.Option(help="The token's name.")],
) -> None:
    """Revoke an editor's tokens of that name."""
    settings = database_ready()
    with session_factory(settings.database_url).begin() as session:
        editor = _editor_or_exit(session, email)
        revoked = editors.revoke_tokens(session, editor, name, utcnow())
        editors.record(session, shell_user(), "token.revoke", email, name=name, revoked=revoked)
    console.print(f"{revoked} token(s) revoked")


@cli.command()
def deactivate(email: str) -> None:
    """Take an editor's access away: their sessions end at their next request, their API
    tokens stop working; the audit log keeps what they did."""
    _set_active(email, active=False)


@cli.command()
def activate(email: str) -> None:
    """Give a deactivated editor their access back (their unrevoked tokens work again)."""
    _set_active(email, active=True)


def _set_active(email: str, *, active: bool) -> None:
    settings = database_ready()
    with session_factory(settings.database_url).begin() as session:
        editor = _editor_or_exit(session, email)
        editor.active = active
        editors.record(
            session, shell_user(), "editor.activate" if active else "editor.deactivate", email
        )
    console.print(f"editor {email} {'activated' if active else 'deactivated'}")


def _editor_or_exit(session: Session, email: str) -> Editor:
    editor = editors.get_by_email(session, email.strip().lower())
    if editor is None:
        raise fail(f"no editor {email}", 2)
    return editor


@cli.command()
def audit(
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The latest changes made through the web app, the API and these commands."""
    settings = database_ready()
    with session_factory(settings.database_url).begin() as session:
        rows = [entry.as_dict() for entry in editors.audit_log(session, limit)]
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("at", "actor", "action", "target", "detail")
    for row in rows:
        table.add_row(
            row["at"], row["actor"], row["action"], row["target"], json.dumps(row["detail"])
        )
    console.print(table)
