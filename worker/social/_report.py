"""Posts as editors read them, in the CLI's JSON and the API alike: text, link, time in the
account's zone, the X weighted length, and what X bills for the post and for its day."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from worker.settings import Settings
from worker.social._compose import readable_text, x_weighted_length
from worker.social._costs import x_post_cost
from worker.social._slots import account_timezone
from worker.store import SocialPost
from worker.store import social as social_posts


def post_row(settings: Settings, post: SocialPost) -> dict[str, Any]:
    return draft_row(
        settings,
        post.id,
        post.account.name,
        post.status.value,
        post.text,
        post.link,
        post.scheduled_at,
        error=post.error,
    )


def draft_row(
    settings: Settings,
    post_id: int | None,
    account: str,
    status: str,
    text: str,
    link: str,
    at: datetime | None,
    error: str = "",
) -> dict[str, Any]:
    config = settings.file.social.accounts.get(account)
    platform = config.platform if config else "?"
    local = at.astimezone(account_timezone(config)) if at and config else at
    row: dict[str, Any] = {
        "id": post_id,
        "platform": platform,
        "account": account,
        "status": status,
        "scheduled_at": local.isoformat() if local else None,
        "text": text,
        # what readers see and what an edit sends back (LinkedIn's escaping undone)
        "reader_text": readable_text(platform, text),
        "link": link,
    }
    if platform == "twitter":
        row["weighted_length"] = x_weighted_length(text)
        if config and config.prices:
            row["cost"] = x_post_cost(config.prices, text, link)
            row["currency"] = config.prices.currency
    if error:
        row["error"] = error
    return row


def add_day_totals(settings: Settings, session: Session, rows: list[dict[str, Any]]) -> None:
    """Each priced row gets ``day_total``: what its account's posts of that local day cost,
    published ones included, plus the row itself when it is only a preview."""
    totals: dict[tuple[str, str], float] = {}
    for row in rows:
        config = settings.file.social.accounts.get(row["account"])
        if "cost" not in row or not row["scheduled_at"] or config is None or config.prices is None:
            continue
        day = row["scheduled_at"][:10]
        key = (row["account"], day)
        if key not in totals:
            start = datetime.fromisoformat(day).replace(tzinfo=account_timezone(config))
            totals[key] = sum(
                x_post_cost(config.prices, post.text, post.link)
                for post in social_posts.posts_between(
                    session, row["account"], start, start + timedelta(days=1)
                )
            )
        if row["id"] is None:
            totals[key] += row["cost"]
    for row in rows:
        if (row["account"], (row["scheduled_at"] or "")[:10]) in totals:
            row["day_total"] = round(totals[row["account"], row["scheduled_at"][:10]], 4)


def account_rows(settings: Settings, session: Session) -> list[dict[str, Any]]:
    """Each account: platform, publisher, status, last error, token expiry, posts per status."""
    social_posts.sync_accounts(session, settings.file.social.accounts)
    rows = []
    for account, counts in social_posts.accounts(session):
        config = settings.file.social.accounts.get(account.name)
        expires = account.token_expires_at
        rows.append(
            {
                "account": account.name,
                "platform": account.platform,
                "publisher": config.publisher if config else "(no longer configured)",
                "status": account.status.value,
                "last_error": account.last_error,
                "token_expires_at": expires.isoformat() if expires else None,
                "posts": {status.value: count for status, count in counts.items()},
            }
        )
    return rows
