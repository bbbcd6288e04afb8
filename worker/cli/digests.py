"""newsroom digest: preview, test, queue, follow, pause, resume and cancel editions."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from worker.cli._common import (
    audit,
    console,
    database_ready,
    fail,
    newsletter_or_exit,
    parse_time,
    prepared,
    settings_or_exit,
)
from worker.delivery import DeliveryError, backend_for, send_test
from worker.digests import (
    GMAIL_CLIP_BYTES,
    DigestTooLarge,
    Edition,
    NothingToSend,
    next_edition,
    progress,
)
from worker.digests import Progress as DigestProgress
from worker.dispatch import DigestNotFound, change_digest, queue_digest
from worker.settings import Settings
from worker.store import DigestStatus, digests, editors, session_factory, utcnow
from worker.subscribers import InvalidAddress, normalize_address

cli = typer.Typer(help="Queue and follow email digests.", no_args_is_help=True)


@cli.command()
def preview(
    newsletter: str,
    html: Annotated[Path | None, typer.Option(help="Write the HTML to this file.")] = None,
    text: Annotated[bool, typer.Option("--text", help="Print the text part.")] = False,
) -> None:
    """Render the next digest from the current articles, without sending, and its size."""
    settings = database_ready()
    slug = newsletter_or_exit(settings, newsletter)
    edition = _next_edition(settings, slug)
    console.print(f"subject: {edition.rendered.subject}", highlight=False)
    console.print(f"articles: {len(edition.article_ids)}")
    size = f"{edition.html_bytes / 1024:.1f} KB of {GMAIL_CLIP_BYTES // 1024} KB"
    if edition.too_large:
        console.print(
            f"[bold red]HTML: {size}: Gmail will clip it; queue refuses it without --force"
        )
    else:
        console.print(f"HTML: {size}")
    if html:
        html.write_text(edition.rendered.html, encoding="utf-8")
        console.print(f"HTML written to {html}")
    if text:
        sys.stdout.write(edition.rendered.text)


@cli.command()
def test(
    newsletter: str,
    to: Annotated[str, typer.Option("--to", help="Where to send the test copy.")],
) -> None:
    """Send one real copy of the next digest to an editor's address."""
    settings = database_ready()
    slug = newsletter_or_exit(settings, newsletter)
    try:
        address = normalize_address(to)
    except InvalidAddress as exc:
        raise fail(f"--to: {exc}", 2) from None
    edition = _next_edition(settings, slug)
    try:
        message = send_test(settings, backend_for(settings), edition, to=address)
    except DeliveryError as exc:
        raise fail(f"not sent: {exc}") from None
    audit(settings, "digest.test", slug, to=editors.person(address))
    console.print(f"test sent to {address} ({message.message_id})")


def _next_edition(settings: Settings, slug: str) -> Edition:
    with session_factory(settings.database_url).begin() as session:
        try:
            return next_edition(session, settings, slug)
        except NothingToSend as exc:
            raise fail(str(exc)) from None


@cli.command()
def queue(
    newsletter: str,
    at: Annotated[str | None, typer.Option(help="ISO 8601 time to send at; default: now.")] = None,
    force: Annotated[bool, typer.Option(help="Queue even when Gmail would clip the HTML.")] = False,
) -> None:
    """Render the next digest of NEWSLETTER once and queue it for every confirmed subscriber."""
    settings = prepared()
    slug = newsletter_or_exit(settings, newsletter)
    when = parse_time(at, settings.file.site.timezone) if at else None
    try:
        digest_id, recipients = queue_digest(settings, slug, at=when, force=force)
    except (NothingToSend, DigestTooLarge) as exc:
        raise fail(str(exc)) from None
    audit(settings, "digest.queue", f"digest {digest_id}", newsletter=slug)
    moment = f" for {when.isoformat()}" if when else ""
    console.print(f"digest {digest_id} queued{moment} for {recipients} subscribers")


@cli.command()
def status(
    digest_id: Annotated[int | None, typer.Argument(help="A digest; default: the latest.")] = None,
    watch: Annotated[bool, typer.Option(help="Follow with a live progress bar.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Sent, failed, bounced, pending, the rate and the time left."""
    settings = settings_or_exit()
    if digest_id is None:
        _list_latest(settings, as_json)
        return
    current = _progress(settings, digest_id)
    if watch:
        current = _watch(settings, current)
    if as_json:
        sys.stdout.write(json.dumps(current.as_dict(), ensure_ascii=False) + "\n")
        return
    _print_progress(current)


def _progress(settings: Settings, digest_id: int) -> DigestProgress:
    with session_factory(settings.database_url).begin() as session:
        digest = digests.get(session, digest_id)
        if digest is None:
            raise fail(f"no digest {digest_id}")
        return progress(session, digest, now=utcnow())


def _watch(settings: Settings, current: DigestProgress) -> DigestProgress:
    columns = (
        TextColumn("digest {task.fields[id]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}/s  ETA {task.fields[eta]}"),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("send", total=current.total, id=current.digest_id, rate="0", eta="-")
        while True:
            eta = current.eta_seconds
            bar.update(
                task,
                completed=current.done,
                rate=f"{current.rate_per_second:.0f}",
                eta=f"{eta:.0f}s" if eta is not None else "-",
            )
            if current.status in (*digests.FINISHED, DigestStatus.PAUSED):
                return current
            time.sleep(0.5)
            current = _progress(settings, current.digest_id)


def _print_progress(current: DigestProgress) -> None:
    console.print(f"digest {current.digest_id} ({current.newsletter}): {current.status.value}")
    for status, count in current.counts.items():
        console.print(f"  {status.value:9} {count}")
    eta = current.eta_seconds
    console.print(f"  rate      {current.rate_per_second:.1f}/s")
    console.print(f"  eta       {'-' if eta is None else f'{eta:.0f}s'}")
    if current.events:
        console.print("what happened:")
    for event in current.events:
        console.print(f"  {event['at'][:19]}  {event['message']}", highlight=False, markup=False)


def _list_latest(settings: Settings, as_json: bool) -> None:
    now = utcnow()
    with session_factory(settings.database_url).begin() as session:
        rows = [progress(session, d, now=now).as_dict() for d in digests.latest(session)]
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    table = Table("id", "newsletter", "status", "sent", "failed", "bounced", "pending", "total")
    for row in rows:
        table.add_row(
            *(
                str(row[k])
                for k in (
                    "id",
                    "newsletter",
                    "status",
                    "sent",
                    "failed",
                    "bounced",
                    "pending",
                    "total",
                )
            )
        )
    console.print(table)


def _change(digest_id: int, action: str) -> None:
    settings = prepared()
    try:
        digest = change_digest(settings, digest_id, action)
    except (DigestNotFound, ValueError) as exc:
        raise fail(str(exc)) from None
    audit(settings, f"digest.{action}", f"digest {digest_id}")
    console.print(f"digest {digest_id}: {digest.status.value}")


@cli.command()
def pause(digest_id: int) -> None:
    """Stop sending after the messages in flight; resume carries on where it stopped."""
    _change(digest_id, "pause")


@cli.command()
def resume(digest_id: int) -> None:
    """Carry on with the subscribers not yet sent to, and only them."""
    _change(digest_id, "resume")


@cli.command()
def cancel(digest_id: int) -> None:
    """Stop for good: nothing more is sent."""
    _change(digest_id, "cancel")
