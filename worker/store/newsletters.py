"""Queries on newsletters: their rows mirror the newsletters defined in config/."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.settings import NewsletterConfig
from worker.store._models import Newsletter


def sync(session: Session, configured: Mapping[str, NewsletterConfig]) -> None:
    """Create or update a row per configured newsletter; rows are never deleted (history)."""
    existing = {n.slug: n for n in session.scalars(select(Newsletter))}
    for slug, config in configured.items():
        row = existing.get(slug) or Newsletter(slug=slug)
        row.title = config.title
        row.language = config.language
        session.add(row)
    session.flush()


def get_by_slug(session: Session, slug: str) -> Newsletter | None:
    return session.scalar(select(Newsletter).where(Newsletter.slug == slug))


def synced(session: Session, slug: str) -> Newsletter:
    """A configured newsletter's row, which `db upgrade` and every command and app start
    write from the configuration; a LookupError saying so if it is missing."""
    found = get_by_slug(session, slug)
    if found is None:
        raise LookupError(f"newsletter {slug!r} is not in the database; run `newsroom db upgrade`")
    return found
