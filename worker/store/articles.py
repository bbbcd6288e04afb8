"""Queries on articles and their outbox events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select
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
        # "fr" matches fr, fr-FR and fr-CA; no LIKE, where "_" would be a wildcard
        query = query.where(
            (Article.language == language)
            | (func.substr(Article.language, 1, len(language) + 1) == f"{language}-")
        )
    return session.scalars(query).all()


def add_published_event(session: Session, article: Article) -> ArticleEvent:
    event = ArticleEvent(article=article, kind=PUBLISHED)
    session.add(event)
    session.flush()
    return event


def get_event(session: Session, event_id: int) -> ArticleEvent | None:
    return session.get(ArticleEvent, event_id)


def unhandled_events(session: Session, *, older_than: timedelta) -> Sequence[ArticleEvent]:
    """Events whose after-commit dispatch was lost (a crash between commit and publish)."""
    cutoff = utcnow() - older_than
    return session.scalars(
        select(ArticleEvent)
        .where(ArticleEvent.handled_at.is_(None), ArticleEvent.created_at < cutoff)
        .order_by(ArticleEvent.id)
    ).all()
