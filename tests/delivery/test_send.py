"""Sending outside the Celery tasks: test copies honour the suppression list like every
other send; a batch the worker cannot send claims nothing and holds nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import SmtpSink
from tests.db import sending_batch
from worker.delivery import (
    NewsletterNotConfigured,
    SuppressedAddress,
    TemporaryDeliveryError,
    backend_for,
    send_batch,
    send_test,
)
from worker.digests import Edition, RenderedDigest
from worker.settings import Settings
from worker.store import Delivery, DeliveryStatus, SuppressionReason, address_hash, newsletters
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


def test_a_newsletter_added_after_the_worker_started_waits_for_a_restart(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: SmtpSink, redis_url: str
) -> None:
    digest_id, batch = sending_batch(settings, sessions, readers=3)
    known = {k: v for k, v in settings.file.newsletters.items() if k != "la-matinale"}
    started_before = replace(settings, file=settings.file.model_copy(update={"newsletters": known}))
    # two connections: a batch holds one for its journal; a leaked one would block the next
    pool = redis.BlockingConnectionPool.from_url(redis_url, max_connections=2, timeout=2)
    client = redis.Redis(connection_pool=pool)

    for _ in range(2):
        with pytest.raises(NewsletterNotConfigured, match="'la-matinale' is not in this worker"):
            send_batch(sessions, started_before, backend_for(settings), client, digest_id, batch)
    assert issubclass(NewsletterNotConfigured, TemporaryDeliveryError)  # the task retries it
    with sessions.begin() as session:
        statuses = session.scalars(select(Delivery.status).where(Delivery.id.in_(batch)))
        assert set(statuses) == {DeliveryStatus.PENDING}
    assert not smtp_server.messages

    restarted = send_batch(sessions, settings, backend_for(settings), client, digest_id, batch)
    assert restarted.sent == 3
