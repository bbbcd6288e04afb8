"""The view-in-browser page behind the link at the top of each digest."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import httpx
from sqlalchemy.orm import Session, sessionmaker

from tests.db import create_article, create_subscriber
from worker.delivery import address, digest_message
from worker.digests import RenderedDigest, prepare_digest, view_token
from worker.settings import Settings
from worker.store import digests, newsletters


def seed(settings: Settings, sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions.begin() as session:
        newsletters.sync(session, settings.file.newsletters)
        matinale = newsletters.get_by_slug(session, "la-matinale")
        create_article(session, title="« Budget 2027 » : l’Assemblée vote")
        camille = create_subscriber(session, "camille@example.org", matinale, name="Camille")
        digest, _ = prepare_digest(
            session,
            "la-matinale",
            settings.file.newsletters["la-matinale"],
            now=datetime(2026, 11, 24, 7, tzinfo=UTC),
            timezone="Europe/Paris",
        )
        return digest.id, camille.id


def test_the_email_links_to_the_readers_own_web_version(
    web: httpx.Client, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    digest_id, camille = seed(settings, sessions)
    with sessions.begin() as session:
        newsletter = newsletters.get_by_slug(session, "la-matinale")
        assert newsletter is not None
        digest = digests.get(session, digest_id)
        assert digest is not None
        rendered = RenderedDigest(subject=digest.subject, html=digest.html, text=digest.text)
        layout = digest_message(settings, newsletter, rendered)
    outgoing = address(
        settings,
        layout,
        email="camille@example.org",
        name="Camille",
        subscriber_id=camille,
        newsletter_id=newsletter.id,
        digest_id=digest_id,
        signer=None,
    )
    message = message_from_bytes(outgoing.data, policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    link = next(line for line in text.splitlines() if "/digests/view/" in line).split(": ")[1]
    assert link.startswith("https://news.example/digests/view/")

    page = web.get(link.removeprefix("https://news.example"))
    assert page.status_code == 200
    assert "Bonjour Camille," in page.text
    assert "« Budget 2027 » : l’Assemblée vote" in page.text
    assert "/unsubscribe/" in page.text
    assert page.headers["x-robots-tag"] == "noindex"


def test_a_tampered_or_foreign_link_shows_a_clear_page(
    web: httpx.Client, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    digest_id, camille = seed(settings, sessions)
    token = view_token(settings.secret_key, camille, digest_id)
    assert web.get(f"/digests/view/{token[:-2]}xx").status_code == 404
    forged = view_token("another-secret-key-another-secret-key", camille, digest_id)
    page = web.get(f"/digests/view/{forged}")
    assert page.status_code == 404
    assert "This link is not valid" in page.text
    test_copy = web.get(f"/digests/view/{view_token(settings.secret_key, 0, 0)}")
    assert test_copy.status_code == 404
    assert "no web version" in test_copy.text
