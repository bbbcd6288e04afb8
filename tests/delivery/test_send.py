"""Test sends honour the suppression list like every other send."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import SmtpSink
from worker.delivery import SuppressedAddress, backend_for, send_test
from worker.digests import Edition, RenderedDigest
from worker.settings import Settings
from worker.store import SuppressionReason, address_hash, newsletters
from worker.subscribers import forget, suppress


def edition(settings: Settings, sessions: sessionmaker[Session], slug: str) -> Edition:
    with sessions.begin() as session:
        newsletters.sync(session, settings.file.newsletters)
        newsletter = newsletters.get_by_slug(session, slug)
    assert newsletter is not None
    return Edition(newsletter, RenderedDigest("Subject", "<p>[[greeting]]</p>", "[[greeting]]"), [])


def test_a_suppressed_address_gets_no_test_copy(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: SmtpSink
) -> None:
    matinale = edition(settings, sessions, "la-matinale")
    briefing = edition(settings, sessions, "morning-briefing")
    with sessions.begin() as session:
        suppress(
            session,
            address_hash("left@example.org"),
            SuppressionReason.UNSUBSCRIBED,
            matinale.newsletter.id,
        )
        forget(session, "erased@example.org")
    backend = backend_for(settings)
    with pytest.raises(SuppressedAddress, match=r"left@example.org .*\(unsubscribed\)"):
        send_test(settings, backend, matinale, to="left@example.org")
    with pytest.raises(SuppressedAddress, match=r"\(erased\)"):
        send_test(settings, backend, briefing, to="erased@example.org")
    assert smtp_server.messages == []
    # suppressed for one newsletter only: the other's test copy goes out
    send_test(settings, backend, briefing, to="left@example.org")
    assert smtp_server.per_recipient() == {"left@example.org": 1}
