"""newsroom social: preview, share links, the queue, and what an editor does to a post."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from worker import social
from worker.cli._common import (
    audit,
    console,
    database_ready,
    errors,
    fail,
    parse_time,
    prepared,
)
from worker.dispatch import PostNotFound, change_post, reactivate_account
from worker.settings import Settings
from worker.store import Article, SocialPostStatus, session_factory, utcnow
from worker.store import articles as article_store
from worker.store import social as social_posts

cli = typer.Typer(help="Social posts: preview, queue, edit, publish.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@cli.command()
def preview(
    article: Annotated[str, typer.Argument(help="The article's id or URL.")],
    as_json: JsonOption = False,
) -> None:
    """Every post the article makes (or would make), with its time and, on X, its cost."""
    settings = database_ready()
    now = utcnow()
    rows: list[dict[str, Any]] = []
    with session_factory(settings.database_url).begin() as session:
        found = _article_or_exit(session, article)
        accounts = social_posts.sync_accounts(session, settings.file.social.accounts)
        existing = {p.account.name: p for p in social_posts.posts_of_article(session, found.id)}
        for name, config in settings.file.social.accounts.items():
            post = existing.get(name)
            if post is not None:
                rows.append(social.post_row(settings, post))
            elif social.speaks(config, found):
                draft, at = social.draft_and_time(
                    session, social.default_composer(), accounts[name], config, found, now
                )
                rows.append(
                    social.draft_row(
                        settings, None, name, "not planned yet", draft.text, draft.link, at
                    )
                )
        social.add_day_totals(settings, session, rows)
        language = found.language
    if not rows and not as_json:
        console.print(f"no post: no account posts articles in {language!r}")
        return
    _print_posts(rows, as_json)


@cli.command("share-links")
def share_links(
    article: Annotated[str, typer.Argument(help="The article's id or URL.")],
    as_json: JsonOption = False,
) -> None:
    """The reader-facing share buttons for the article page: X, Facebook, LinkedIn, copy."""
    settings = database_ready()
    with session_factory(settings.database_url).begin() as session:
        links = social.share_links(_article_or_exit(session, article), social.default_composer())
    if as_json:
        payload = [{"network": x.network, "url": x.url, "text": x.text} for x in links]
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        return
    for link in links:
        console.print(f"[bold]{link.network}[/]: {link.url}", highlight=False, soft_wrap=True)


@cli.command("queue")
def queue_(
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Upcoming posts with their times, and what the X posts of each day cost."""
    settings = database_ready()
    if account is not None and account not in settings.file.social.accounts:
        raise fail(f"unknown account {account!r} ({_known_accounts(settings)})", 2)
    with session_factory(settings.database_url).begin() as session:
        rows = [social.post_row(settings, post) for post in social_posts.upcoming(session, account)]
        social.add_day_totals(settings, session, rows)
    _print_posts(rows, as_json)


@cli.command()
def edit(
    post: int,
    text: Annotated[str, typer.Option(help="The new text, exactly as it should read.")],
) -> None:
    """Replace a post's text (checked against the platform's limit, never shortened)."""
    _change(post, "edit", text=text)


@cli.command()
def reschedule(
    post: int,
    at: Annotated[str, typer.Option(help="ISO 8601 time; without an offset, the site's zone.")],
) -> None:
    """Move a post to another time (also to send a failed or unconfirmed one again)."""
    settings = database_ready()
    _change(post, "reschedule", at=parse_time(at, settings.file.site.timezone))


@cli.command()
def cancel(post: int) -> None:
    """Cancel a post that is not published yet."""
    _change(post, "cancel")


@cli.command("publish-now")
def publish_now(post: int) -> None:
    """Publish a post at once, outside its slot."""
    _change(post, "publish-now")


@cli.command("accounts")
def accounts_(as_json: JsonOption = False) -> None:
    """Each account: platform, publisher, status, last error, token expiry, posts."""
    settings = database_ready()
    with session_factory(settings.database_url).begin() as session:
        rows = social.account_rows(settings, session)
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("account", "platform", "publisher", "status", "token expires", "posts", "error")
    for row in rows:
        posts = ", ".join(f"{n} {s}" for s, n in sorted(row["posts"].items()))
        table.add_row(
            row["account"],
            row["platform"],
            row["publisher"],
            row["status"],
            row["token_expires_at"] or "",
            posts,
            row["last_error"],
        )
    console.print(table)


@cli.command()
def reactivate(
    account: str,
    token_expires: Annotated[
        str | None, typer.Option(help="When the new token expires (ISO 8601), if known.")
    ] = None,
) -> None:
    """Mark an account authorized again after renewing its token; its held posts get new
    times."""
    settings = prepared()
    expires = parse_time(token_expires, "UTC") if token_expires else None
    try:
        replanned = reactivate_account(settings, account, expires)
    except LookupError as exc:
        raise fail(f"{exc} ({_known_accounts(settings)})", 2) from None
    audit(settings, "account.reactivate", account, replanned=len(replanned))
    console.print(f"account {account} is active; {len(replanned)} held posts planned again")


def _change(post_id: int, action: str, **changes: Any) -> None:
    settings = prepared()
    try:
        post = change_post(settings, post_id, action, **changes)
    except PostNotFound as exc:
        raise fail(str(exc), 2) from None
    except (social.PostChangeRefused, social.TextTooLong) as exc:
        raise fail(str(exc), 1) from None
    detail = {key: str(value) for key, value in changes.items()}
    audit(settings, f"post.{action}", f"post {post_id}", **detail)
    when = f" at {_iso(post.scheduled_at)}" if post.scheduled_at else ""
    console.print(f"post {post.id}: {post.status.value}{when}", highlight=False)
    if post.status is SocialPostStatus.PLANNED and post.account.status.value != "active":
        errors.print(
            f"account {post.account.name} is {post.account.status.value}: the post waits "
            f"until `newsroom social reactivate {post.account.name}`, which plans it anew",
            highlight=False,
            markup=False,
        )


def _article_or_exit(session: Any, reference: str) -> Article:
    found = (
        article_store.get(session, int(reference))
        if reference.isdigit()
        else article_store.find(session, reference)
    )
    if found is None:
        raise fail(f"no article {reference!r} (give its id or its URL)", 2)
    return found


def _print_posts(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    if not rows:
        console.print("no post")
        return
    for row in rows:
        head = f"[bold]{row['account']}[/] ({row['platform']}) · {row['status']}"
        if row["id"] is not None:
            head = f"post {row['id']} · " + head
        head += f" · {row['scheduled_at'] or 'no time'}"
        if "weighted_length" in row:
            head += f" · {row['weighted_length']}/280"
        if "cost" in row:
            head += (
                f" · {row['cost']:.3f} {row['currency']}"
                f" (day: {row['day_total']:.3f} {row['currency']})"
            )
        console.print(head, highlight=False)
        console.print(row["text"], highlight=False, markup=False, soft_wrap=True)
        if row["platform"] != "twitter":
            console.print(f"link: {row['link']}", highlight=False, markup=False)
        if row.get("error"):
            console.print(f"error: {row['error']}", style="red", highlight=False, markup=False)
        console.print()


def _known_accounts(settings: Settings) -> str:
    return "configured: " + (", ".join(settings.file.social.accounts) or "none")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
