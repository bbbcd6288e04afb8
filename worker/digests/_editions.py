"""Prepare one edition of a newsletter: choose its articles, render it once, open its ledger."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from worker.digests._render import DigestArticle, render_digest
from worker.settings import NewsletterConfig
from worker.store import Digest, articles, digests, newsletters


class NothingToSend(Exception):
    """The newsletter has no article to send; a digest is never sent empty."""


def prepare_digest(
    session: Session, slug: str, config: NewsletterConfig, *, now: datetime, timezone: str
) -> tuple[Digest, int]:
    """Create the digest and one pending delivery per confirmed subscriber, in the caller's
    transaction. Returns the digest and its number of recipients."""
    newsletter = newsletters.get_by_slug(session, slug)
    if newsletter is None:
        raise LookupError(f"newsletter {slug!r} is not in the database; run `newsroom db upgrade`")
    chosen = articles.latest(session, limit=config.max_items, language=config.language)
    if not chosen:
        raise NothingToSend(f"newsletter {slug!r}: no article in {config.language!r} to send")
    rendered = render_digest(
        template=config.template,
        newsletter_slug=slug,
        newsletter_title=config.title,
        language=config.language,
        edition=now.astimezone(ZoneInfo(timezone)).date(),
        articles=[
            DigestArticle(
                title=a.title,
                link=a.url,
                summary=a.summary,
                author=a.author,
                image_url=a.image_url,
            )
            for a in chosen
        ],
    )
    digest = digests.create(
        session,
        newsletter,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        article_ids=[a.id for a in chosen],
    )
    recipients = digests.add_deliveries(session, digest)
    return digest, recipients
