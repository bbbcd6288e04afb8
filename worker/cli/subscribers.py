"""newsroom subscribers: import, export, look up, add and remove subscribers; a person's
data and its erasure."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from worker.cli._common import (
    audit,
    console,
    database_ready,
    fail,
    newsletter_or_exit,
    prepared,
)
from worker.dispatch import subscribe_rows
from worker.settings import Settings
from worker.store import SubscriptionStatus, editors, newsletters, session_factory, subscribers
from worker.subscribers import (
    EXPORT_COLUMNS,
    ImportReport,
    InvalidAddress,
    InvalidField,
    Row,
    UnreadableFile,
    clean_name,
    counts_per_newsletter,
    csv_text,
    export_data,
    forget,
    normalize_address,
    parse_csv,
    subscription_rows,
    unsubscribe,
)

cli = typer.Typer(help="Subscribers, their consent and their personal data.", no_args_is_help=True)

NewsletterOption = Annotated[str, typer.Option("--newsletter", help="A configured newsletter.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Output = Annotated[Path | None, typer.Option("--output", help="Write here, not to stdout.")]


@cli.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV, UTF-8, header: email[,name][,language]")],
    newsletter: NewsletterOption,
    confirmed: Annotated[
        bool, typer.Option(help="The list's consent was confirmed elsewhere: no email.")
    ] = False,
    source: Annotated[
        str, typer.Option(help="Where the list comes from, kept with each consent.")
    ] = "",
    check_deliverability: Annotated[
        bool, typer.Option(help="Also ask DNS whether each domain takes mail (slow).")
    ] = False,
) -> None:
    """Import FILE.csv into NEWSLETTER.

    Each rejected line is reported as FILE:LINE: reason and the others are imported (exit
    1 if any was rejected). Addresses that left, bounced, complained or were erased are
    never brought back. Without --confirmed, each new subscription is pending and gets a
    confirmation email.
    """
    settings = database_ready() if confirmed else prepared()
    slug = newsletter_or_exit(settings, newsletter)
    detail = _detail(source or f"import: {file.name}")
    try:
        parsed = parse_csv(file.read_bytes(), check_deliverability=check_deliverability)
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror or exc}") from None
    except UnreadableFile as exc:
        raise fail(f"{file}: {exc}") from None
    with session_factory(settings.database_url).begin() as session:
        target = newsletters.synced(session, slug)
        outcome = subscribe_rows(
            session, parsed.rows, target.id, confirmed=confirmed, detail=detail
        )
    report = ImportReport.of(parsed, outcome)
    audit(
        settings,
        "subscribers.import",
        slug,
        imported=len(outcome.imported),
        rejected=report.rejected,
        confirmed=confirmed,
    )
    sys.stderr.writelines(f"{file}:{line}: {reason}\n" for line, reason in report.problems)
    status = "confirmed" if confirmed else "pending, confirmation emails queued"
    console.print(
        f"imported {len(outcome.imported)} ({status}), already subscribed {outcome.already}, "
        f"suppressed, not imported {outcome.suppressed}, duplicates {report.duplicates}, "
        f"rejected {report.rejected}",
        highlight=False,
        soft_wrap=True,
    )
    if parsed.rejected:
        raise typer.Exit(1)


@cli.command()
def export(
    newsletter: Annotated[str | None, typer.Option(help="Only this newsletter.")] = None,
    status: Annotated[SubscriptionStatus | None, typer.Option(help="Only this status.")] = None,
    output: Output = None,
) -> None:
    """Write subscriptions as CSV: email,name,language,newsletter,status,subscribed_at."""
    settings = database_ready()
    with session_factory(settings.database_url).begin() as session, _opened(output) as handle:
        handle.writelines(csv_text(_listing(session, settings, newsletter, status, None)))
    audit(settings, "subscribers.export", newsletter or "every newsletter")


@cli.command("list")
def list_(
    newsletter: Annotated[str | None, typer.Option(help="Only this newsletter.")] = None,
    status: Annotated[SubscriptionStatus | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 50,
    as_json: AsJson = False,
) -> None:
    """Subscriptions, oldest first."""
    settings = database_ready()
    with session_factory(settings.database_url).begin() as session:
        rows = list(_listing(session, settings, newsletter, status, limit))
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(*EXPORT_COLUMNS)
    for row in rows:
        table.add_row(*(row[column] for column in EXPORT_COLUMNS))
    console.print(table)


@cli.command()
def show(email: str, as_json: AsJson = False) -> None:
    """One person: their details, subscriptions and suppressions."""
    settings = database_ready()
    address = _address(email)
    with session_factory(settings.database_url).begin() as session:
        data = export_data(session, address)
    summary = {key: data[key] for key in ("email", "subscriber", "subscriptions", "suppressions")}
    if as_json:
        sys.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
        return
    person = data["subscriber"]
    if person is None:
        console.print(f"no subscriber {data['email']}", highlight=False)
    else:
        console.print(
            f"{person['email']}  name: {person['name'] or '-'}  language: "
            f"{person['language'] or '-'}  since {person['created_at']}",
            highlight=False,
            soft_wrap=True,
        )
        for row in data["subscriptions"]:
            console.print(f"  {row['newsletter']:20} {row['status']:12} since {row['created_at']}")
    for row in data["suppressions"]:
        scope = row["newsletter"] or "every newsletter"
        console.print(f"  suppressed for {scope}: {row['reason']} since {row['created_at']}")
    if person is None:
        raise typer.Exit(1)


@cli.command()
def add(
    email: str,
    newsletter: NewsletterOption,
    name: Annotated[str, typer.Option(help="The subscriber's name.")] = "",
    confirmed: Annotated[
        bool, typer.Option(help="Consent was confirmed elsewhere: no email.")
    ] = False,
) -> None:
    """Subscribe one address, as an import of one line would."""
    settings = database_ready() if confirmed else prepared()
    slug = newsletter_or_exit(settings, newsletter)
    try:
        row = Row(line=0, email=_address(email), name=clean_name(name))
    except InvalidField as exc:
        raise fail(str(exc), 2) from None
    with session_factory(settings.database_url).begin() as session:
        target = newsletters.synced(session, slug)
        outcome = subscribe_rows(
            session, [row], target.id, confirmed=confirmed, detail="newsroom subscribers add"
        )
    if outcome.suppressed:
        raise fail(f"{row.email} is suppressed (left, bounced, complained or erased): not added")
    if outcome.already:
        console.print(f"{row.email} is already subscribed to {slug}", highlight=False)
        return
    audit(settings, "subscriber.add", editors.person(row.email), newsletter=slug)
    state = "confirmed" if confirmed else "pending; confirmation email queued"
    console.print(f"{row.email} added to {slug} ({state})", highlight=False)


@cli.command()
def remove(
    email: str,
    newsletter: Annotated[str | None, typer.Option(help="Only this newsletter.")] = None,
) -> None:
    """Unsubscribe an address from NEWSLETTER, or from every newsletter."""
    settings = database_ready()
    slug = newsletter_or_exit(settings, newsletter) if newsletter else None
    with session_factory(settings.database_url).begin() as session:
        subscriber = subscribers.get_by_email(session, _address(email))
        if subscriber is None:
            raise fail(f"no subscriber {email}")
        unsubscribe(session, subscriber.id, newsletters.synced(session, slug).id if slug else None)
    audit(settings, "subscriber.remove", editors.person(subscriber.email), newsletter=slug)
    console.print(f"{subscriber.email} unsubscribed from {slug or 'every newsletter'}")


@cli.command()
def counts(as_json: AsJson = False) -> None:
    """Subscriptions per newsletter and status."""
    settings = database_ready()
    with session_factory(settings.database_url).begin() as session:
        ids = {slug: newsletters.synced(session, slug).id for slug in settings.file.newsletters}
        rows = counts_per_newsletter(session, ids)
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table("newsletter", *(status.value for status in SubscriptionStatus))
    for slug, by_status in rows.items():
        table.add_row(slug, *(str(count) for count in by_status.values()))
    console.print(table)


@cli.command("export-data")
def export_data_(email: str, output: Output = None) -> None:
    """Everything held on a person, as JSON (a GDPR access request)."""
    settings = database_ready()
    address = _address(email)
    with session_factory(settings.database_url).begin() as session:
        data = export_data(session, address)
    with _opened(output) as handle:
        handle.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    audit(settings, "subscriber.export-data", editors.person(address))


@cli.command("forget")
def forget_(email: str) -> None:
    """Erase a person's data (a GDPR erasure request).

    Only a hash of the address is kept, on the suppression list, so that no import or form
    adds it again.
    """
    settings = database_ready()
    address = _address(email)
    with session_factory(settings.database_url).begin() as session:
        erased = forget(session, address)
    audit(settings, "subscriber.forget", editors.person(address), erased=erased)
    if erased:
        console.print(f"{address}: erased; its hash stays on the suppression list")
    else:
        console.print(f"{address}: no subscriber; its hash is now on the suppression list")


def _address(email: str) -> str:
    try:
        return normalize_address(email)
    except InvalidAddress as exc:
        raise fail(f"{email}: {exc}", 2) from None


def _detail(text: str) -> str:
    try:
        detail = clean_name(text)  # the same rules: one line, printable, 300 characters
    except InvalidField:
        raise fail("--source: longer than 300 characters", 2) from None
    return detail


def _listing(
    session: Session,
    settings: Settings,
    newsletter: str | None,
    status: SubscriptionStatus | None,
    limit: int | None,
) -> Iterator[dict[str, str]]:
    newsletter_id = None
    if newsletter:
        newsletter_id = newsletters.synced(session, newsletter_or_exit(settings, newsletter)).id
    return subscription_rows(session, newsletter_id=newsletter_id, status=status, limit=limit)


@contextmanager
def _opened(output: Path | None) -> Iterator[TextIO]:
    if output is None:
        yield sys.stdout
        return
    with output.open("w", newline="", encoding="utf-8") as handle:
        yield handle
