"""Compose and prepare one edition of a newsletter.

``compose_edition`` chooses the articles and renders the digest once, reading only;
preview and test sends stop there. ``prepare_digest`` stores it and opens its ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from worker.digests._render import DigestArticle, RenderedDigest, render_digest
from worker.settings import NewsletterConfig, Settings
from worker.store import Digest, Newsletter, articles, digests, newsletters, utcnow

# Gmail cuts a message whose HTML passes 102 KB and hides the rest, unsubscribe link included.
GMAIL_CLIP_BYTES = 102 * 1024


class NothingToSend(Exception):
    """The newsletter has no new article; a digest is never sent empty."""


class DigestTooLarge(Exception):
    """The HTML would be clipped by Gmail; queue it only when forced."""


@dataclass(frozen=True)
class Edition:
    newsletter: Newsletter
    rendered: RenderedDigest
    article_ids: list[int]

    @property
    def html_bytes(self) -> int:
        return len(self.rendered.html.encode())

    @property
    def too_large(self) -> bool:
        return self.html_bytes > GMAIL_CLIP_BYTES


def next_edition(session: Session, settings: Settings, slug: str) -> Edition:
    """The edition ``slug`` would send now, by its configuration: what previews, test sends
    and the editors' pages show."""
    return compose_edition(
        session,
        slug,
        settings.file.newsletters[slug],
        now=utcnow(),
        timezone=settings.file.site.timezone,
    )


def compose_edition(
    session: Session, slug: str, config: NewsletterConfig, *, now: datetime, timezone: str
) -> Edition:
    """The next edition as it would go out now, without writing anything."""
    newsletter = newsletters.synced(session, slug)
    previous = digests.previous(session, newsletter.id) if config.since_previous else None
    chosen = articles.for_digest(
        session,
        language=config.language,
        sections=config.sections,
        tags=config.tags,
        since=previous.created_at if previous else None,
        newest_first=config.order == "newest",
        limit=config.max_items,
    )
    if not chosen:
        since = f" since digest {previous.id}" if previous else ""
        raise NothingToSend(f"newsletter {slug!r}: no new article in {config.language!r}{since}")
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
    return Edition(newsletter, rendered, [a.id for a in chosen])


def prepare_digest(
    session: Session,
    slug: str,
    config: NewsletterConfig,
    *,
    now: datetime,
    timezone: str,
    scheduled_at: datetime | None = None,
    schedule_slot: datetime | None = None,
    force: bool = False,
) -> tuple[Digest, int]:
    """Store the edition and one pending delivery per confirmed subscriber, in the caller's
    transaction. Returns the digest and its number of recipients."""
    edition = compose_edition(session, slug, config, now=now, timezone=timezone)
    if edition.too_large and not force:
        raise DigestTooLarge(
            f"newsletter {slug!r}: the HTML is {edition.html_bytes / 1024:.1f} KB, over Gmail's "
            f"{GMAIL_CLIP_BYTES // 1024} KB clipping limit (use --force to queue it anyway)"
        )
    digest = digests.create(
        session,
        edition.newsletter,
        subject=edition.rendered.subject,
        html=edition.rendered.html,
        text=edition.rendered.text,
        article_ids=edition.article_ids,
        scheduled_at=scheduled_at,
        schedule_slot=schedule_slot,
    )
    recipients = digests.add_deliveries(session, digest)
    return digest, recipients
