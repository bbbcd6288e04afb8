"""Planning: an article becomes one post per account that speaks its language, each in the
account's next free time."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import cache

import jinja2
from sqlalchemy.orm import Session

from worker.settings import SocialAccountConfig, SocialConfig
from worker.social._compose import Composer, Draft
from worker.social._slots import NoFreeSlot, next_free_time
from worker.store import Article, SocialAccount, SocialPost
from worker.store import social as posts

log = logging.getLogger(__name__)

# Spacing and daily caps never look further back than this: a local day lasts up to 25
# hours (the day clocks go back), and spacing is at most a day.
LOOKBACK = timedelta(hours=25)


@cache
def default_composer() -> Composer:
    return Composer()


def speaks(config: SocialAccountConfig, article: Article) -> bool:
    """An account posts the articles of its language (and those whose language is unknown)."""
    return not article.language or article.language[:2].lower() == config.language[:2]


def draft_and_time(
    session: Session,
    composer: Composer,
    account: SocialAccount,
    config: SocialAccountConfig,
    article: Article,
    now: datetime,
) -> tuple[Draft, datetime]:
    """The account's post for the article and the time it would go out, saving nothing."""
    draft = composer.compose(article, account.name, config)
    at = next_free_time(config, posts.taken_times(session, account.id, now - LOOKBACK), now)
    return draft, at


def plan_posts(
    session: Session,
    social: SocialConfig,
    article: Article,
    now: datetime,
    composer: Composer | None = None,
) -> list[SocialPost]:
    """Compose and time the article's posts; an account that already has one is left alone.

    The account rows are locked first, so two articles planned at once cannot both take
    the same free slot (SQLite serializes writers anyway; PostgreSQL needs the lock). An
    account whose template or rules fail is skipped with its error recorded on it, so it
    never holds back the other accounts.
    """
    composer = composer or default_composer()
    rows = posts.sync_accounts(session, social.accounts)
    posts.lock_accounts(session, [row.id for row in rows.values()])
    planned = []
    for name, config in social.accounts.items():
        account = rows[name]
        if not speaks(config, article) or posts.post_for(session, account.id, article.id):
            continue
        try:
            draft, at = draft_and_time(session, composer, account, config, article, now)
        except (NoFreeSlot, ValueError, jinja2.TemplateError) as exc:
            log.error("account %s: no post for article %s: %s", name, article.id, exc)
            account.last_error = f"{now:%Y-%m-%d %H:%M} UTC article {article.id}: {exc}"
            continue
        planned.append(posts.add_post(session, account, article, draft.text, draft.link, at))
    return planned


def replan_held(
    session: Session, account: SocialAccount, config: SocialAccountConfig, now: datetime
) -> list[SocialPost]:
    """Give the posts an account held while it could not publish new times from ``now``,
    in their original order, so they do not all go out at once."""
    held = posts.held_posts(session, account.id)
    for post in held:
        post.scheduled_at = None  # its old time no longer counts against the rules
    session.flush()
    for post in held:
        taken = posts.taken_times(session, account.id, now - LOOKBACK)
        post.scheduled_at = next_free_time(config, taken, now)
        session.flush()
    return held
