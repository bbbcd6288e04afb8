"""Small helpers that make real rows, in the style of notifications-api's tests/app/db.py."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from worker.digests import prepare_digest
from worker.settings import NewsletterConfig, Settings
from worker.store import (
    Article,
    DigestStatus,
    Newsletter,
    Subscriber,
    SubscriptionStatus,
    digests,
    newsletters,
    subscribers,
)


def create_article(session: Session, n: int = 1, **values: object) -> Article:
    fields: dict[str, object] = {
        "url": f"https://www.lequotidien.example/politique/article-{n}",
        "title": f"« Article {n} » : l’essentiel",
        "summary": "Résumé de l’article.",
        "language": "fr",
        "published_at": datetime(2026, 11, 24, 7, n % 60, tzinfo=UTC),
        "tags": ["politique"],
    }
    fields.update(values)
    article = Article(**fields)
    session.add(article)
    session.flush()
    return article


def create_newsletter(
    session: Session, slug: str = "la-matinale", language: str = "fr"
) -> Newsletter:
    config = NewsletterConfig(title=f"Newsletter {slug}", language=language, sender="a@b.example")
    newsletters.sync(session, {slug: config})
    found = newsletters.get_by_slug(session, slug)
    assert found is not None
    return found


def create_subscriber(
    session: Session,
    email: str,
    newsletter: Newsletter | None = None,
    status: SubscriptionStatus = SubscriptionStatus.CONFIRMED,
    name: str = "",
) -> Subscriber:
    subscriber = subscribers.get_or_create(session, email, name=name)
    if newsletter is not None:
        subscribers.subscribe(session, subscriber, newsletter, status)
    return subscriber


def sending_batch(
    settings: Settings, sessions: sessionmaker[Session], *, readers: int
) -> tuple[int, list[int]]:
    """A sending digest of la-matinale with one article and ``readers`` subscribers."""
    with sessions.begin() as session:
        newsletters.sync(session, settings.file.newsletters)
        matinale = newsletters.get_by_slug(session, "la-matinale")
        create_article(session)
        for n in range(readers):
            create_subscriber(session, f"s{n}@example.org", matinale)
        digest, _ = prepare_digest(
            session,
            "la-matinale",
            settings.file.newsletters["la-matinale"],
            now=datetime(2026, 11, 24, 7, tzinfo=UTC),
            timezone="Europe/Paris",
        )
        digests.set_status(session, digest, DigestStatus.SENDING)
        (batch,) = list(digests.pending_batches(session, digest.id, 500))
        return digest.id, batch
