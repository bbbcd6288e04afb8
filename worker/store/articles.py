"""Queries on articles and their outbox events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from worker.store._models import Article, ArticleEvent, utcnow

PUBLISHED = "article.published"


def get_by_url(session: Session, url: str) -> Article | None:
    return session.scalar(select(Article).where(Article.url == url))


def get(session: Session, article_id: int) -> Article | None:
    return session.get(Article, article_id)


def find(session: Session, reference: str) -> Article | None:
    """An article by its id or its URL, as editors type either."""
    if reference.isdigit():
        return get(session, int(reference))
    return get_by_url(session, reference)


def latest(session: Session, *, limit: int, language: str | None = None) -> Sequence[Article]:
    newest_first = (Article.published_at.desc().nulls_last(), Article.id.desc())
    query = select(Article).order_by(*newest_first).limit(limit)
    if language:
        query = query.where(_language_is(language))
    return session.scalars(query).all()


def for_digest(
    session: Session,
    *,
    language: str,
    sections: Sequence[str],
    tags: Sequence[str],
    since: datetime | None,
    newest_first: bool,
    limit: int,
) -> list[Article]:
    """The articles of an edition: those published, or first imported, after ``since`` (an
    article the CMS sent late, dated before the previous edition, is still news to the
    readers; one with no date counts from its import). Tags live in a JSON list, so they
    are matched here rather than in SQL, over a stream of candidates that stops at
    ``limit``."""
    when = func.coalesce(Article.published_at, Article.created_at)
    query = (
        select(Article)
        .where(_language_is(language))
        .order_by(when.desc() if newest_first else when.asc(), Article.id)
        .execution_options(yield_per=200)
    )
    if since is not None:
        query = query.where((Article.published_at > since) | (Article.created_at > since))
    if sections and not tags:
        query = query.where(Article.section.in_(sections))
    wanted_tags = {t.casefold() for t in tags}
    chosen: list[Article] = []
    for article in session.scalars(query):
        in_section = article.section in sections
        tagged = bool(wanted_tags & {t.casefold() for t in article.tags})
        if (sections or tags) and not (in_section or tagged):
            continue
        chosen.append(article)
        if len(chosen) == limit:
            break
    return chosen


def _language_is(language: str) -> ColumnElement[bool]:
    # "fr" matches fr, fr-FR and fr-CA; no LIKE, where "_" would be a wildcard
    return (Article.language == language) | (
        func.substr(Article.language, 1, len(language) + 1) == f"{language}-"
    )


def add_published_event(session: Session, article: Article) -> ArticleEvent:
    event = ArticleEvent(article=article, kind=PUBLISHED)
    session.add(event)
    session.flush()
    return event


def claim_event(session: Session, event_id: int) -> ArticleEvent | None:
    """Mark an event handled and return it, or None when another worker already has it.
    If the caller's transaction rolls back, the event is unhandled again."""
    taken = session.execute(
        update(ArticleEvent)
        .where(ArticleEvent.id == event_id, ArticleEvent.handled_at.is_(None))
        .values(handled_at=utcnow())
    )
    return session.get(ArticleEvent, event_id) if taken.rowcount == 1 else None


def unhandled_events(session: Session, *, older_than: timedelta) -> Sequence[ArticleEvent]:
    """Events whose after-commit dispatch was lost (a crash between commit and publish)."""
    cutoff = utcnow() - older_than
    return session.scalars(
        select(ArticleEvent)
        .where(ArticleEvent.handled_at.is_(None), ArticleEvent.created_at < cutoff)
        .order_by(ArticleEvent.id)
    ).all()
