"""The Celery tasks, run by a real worker process on real Redis, database and SMTP server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import BOTH_BROKERS, SmtpSink, WorkerProcess, wait_until
from tests.db import create_article, create_subscriber, sending_batch
from worker.articles import ArticleRecord, import_records
from worker.celery_app import app as celery_app
from worker.celery_app import current_redis
from worker.delivery import (
    RateLimiter,
    SmtpBackend,
    TemporaryDeliveryError,
    send_batch,
    throttle,
)
from worker.dispatch import announce_article, queue_digest
from worker.settings import Settings
from worker.store import (
    ArticleEvent,
    Delivery,
    DeliveryStatus,
    DigestStatus,
    Subscriber,
    SubscriptionStatus,
    digests,
    newsletters,
)
from worker.subscribers import read_unsubscribe_token
from worker.tasks import EVENT_GRACE

pytestmark = BOTH_BROKERS

RECORD = ArticleRecord(
    url="https://www.lequotidien.example/politique/budget",
    title="« Budget 2027 » : l’Assemblée adopte le texte",
    summary="Les députés ont voté.",
    published_at=datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
    language="fr",
)


def events(sessions: sessionmaker[Session]) -> list[ArticleEvent]:
    with sessions.begin() as session:
        return list(session.scalars(select(ArticleEvent)))


def test_a_new_article_raises_one_event_that_the_worker_handles(
    settings: Settings, sessions: sessionmaker[Session], worker: WorkerProcess
) -> None:
    with sessions.begin() as session:
        summary = import_records(session, [RECORD], source="test", announce=announce_article)
    assert summary.imported == 1
    wait_until(lambda: events(sessions)[0].handled_at is not None)

    with sessions.begin() as session:
        again = import_records(
            session,
            [RECORD, RECORD.__class__(**{**RECORD.__dict__, "summary": "Corrigé."})],
            source="test",
            announce=announce_article,
        )
    assert (again.imported, again.unchanged, again.updated) == (0, 1, 1)
    assert len(events(sessions)) == 1
    assert "article 1 published" in worker.log.read_text()


def test_digest_reaches_each_confirmed_subscriber_once(
    settings: Settings,
    sessions: sessionmaker[Session],
    smtp_server: SmtpSink,
    worker: WorkerProcess,
) -> None:
    with sessions.begin() as session:
        newsletters.sync(session, settings.file.newsletters)
        matinale = newsletters.get_by_slug(session, "la-matinale")
        for n in range(1, 4):
            create_article(session, n)
        create_subscriber(session, "camille@example.org", matinale, name="Camille\r\nBcc: x@y")
        create_subscriber(session, "jean@example.org", matinale, name="Jean-Baptiste Lefèvre")
        create_subscriber(session, "nadia@example.org", matinale)
        create_subscriber(session, "pending@example.org", matinale, SubscriptionStatus.PENDING)
        create_subscriber(session, "bounced@example.org", matinale, SubscriptionStatus.BOUNCED)
    smtp_server.refuse["nadia@example.org"] = "550 5.1.1 mailbox unavailable"

    digest_id, recipients = queue_digest(settings, "la-matinale")
    assert recipients == 3

    def finished() -> bool:
        with sessions.begin() as session:
            digest = digests.get(session, digest_id)
            return digest is not None and digest.status is DigestStatus.SENT

    wait_until(finished)
    assert smtp_server.per_recipient() == {"camille@example.org": 1, "jean@example.org": 1}
    with sessions.begin() as session:
        counts = digests.counts(session, digest_id)
    assert counts[DeliveryStatus.SENT] == 2
    assert counts[DeliveryStatus.BOUNCED] == 1

    received = {rcpt[0]: msg for rcpt, msg in smtp_server.messages}
    message = received["camille@example.org"]
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Subject"].startswith("La Matinale – ")
    assert message["To"] == '"Camille Bcc: x@y" <camille@example.org>'
    assert message["Bcc"] is None
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https_link, mailto = (v.strip(" <>") for v in message["List-Unsubscribe"].split(","))
    assert https_link.startswith("https://news.example/unsubscribe/")
    assert mailto.startswith("mailto:unsubscribe@lequotidien.example")
    token = https_link.rsplit("/", 1)[1]
    with sessions.begin() as session:
        camille = session.scalar(
            select(Subscriber).where(Subscriber.email == "camille@example.org")
        )
        assert read_unsubscribe_token(settings.secret_key, token) == (
            camille.id,
            matinale.id,
        )
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "« Article 3 » : l’essentiel" in text
    assert "Bonjour Camille Bcc: x@y," in text  # the name, flattened to one line
    assert "Il a été envoyé à camille@example.org." in text
    jean = received["jean@example.org"].get_body(("html",)).get_content()
    assert "Bonjour Jean-Baptiste Lefèvre," in jean
    assert "utm_source=newsletter&utm_medium=email&utm_campaign=la-matinale-" in text
    assert https_link in text
    assert https_link in html
    assert "Se désabonner" in html
    assert "[[" not in html + text


def test_a_batch_sent_again_sends_nothing_twice(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: SmtpSink
) -> None:
    digest_id, batch = sending_batch(settings, sessions, readers=5)

    first = send_batch(
        sessions, settings, SmtpBackend(smtp_server.url), current_redis(), digest_id, batch
    )
    second = send_batch(
        sessions, settings, SmtpBackend(smtp_server.url), current_redis(), digest_id, batch
    )
    assert (first.sent, second.sent, second.skipped) == (5, 0, 5)
    assert set(smtp_server.per_recipient().values()) == {1}
    with sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 5


def test_an_event_whose_publish_was_lost_is_redispatched(
    settings: Settings, sessions: sessionmaker[Session], worker: WorkerProcess
) -> None:
    with sessions.begin() as session:
        # imported with nobody to announce it, as when the process dies right after commit
        import_records(session, [RECORD], source="test", announce=lambda _: None)
        (event,) = session.scalars(select(ArticleEvent)).all()
        event.created_at -= EVENT_GRACE * 2
    celery_app.send_task("worker.tasks.redispatch_article_events")
    wait_until(lambda: events(sessions)[0].handled_at is not None, why=worker.log)


def test_beat_starts_and_schedules_the_event_sweeper(
    settings_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "beat.log"
    with log.open("wb") as handle:
        beat = subprocess.Popen(
            [sys.executable, "-m", "worker", "beat", "--loglevel=DEBUG"],
            env={**os.environ, **settings_env},
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: b"redispatch-article-events" in log.read_bytes(), timeout=30, why=log)
    finally:
        beat.terminate()
        beat.wait(timeout=30)
    assert any((tmp_path / "data").glob("celerybeat-schedule*"))


def test_a_deferred_recipient_does_not_hold_up_the_rest_of_the_batch(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: SmtpSink
) -> None:
    digest_id, batch = sending_batch(settings, sessions, readers=4)
    smtp_server.refuse["s0@example.org"] = "452 4.2.2 Mailbox full, try later"

    with pytest.raises(TemporaryDeliveryError, match="1 deferred, first: 452"):
        send_batch(
            sessions, settings, SmtpBackend(smtp_server.url), current_redis(), digest_id, batch
        )
    assert smtp_server.per_recipient() == {f"s{n}@example.org": 1 for n in (1, 2, 3)}

    del smtp_server.refuse["s0@example.org"]  # the retry sends only what was deferred
    retry = send_batch(
        sessions, settings, SmtpBackend(smtp_server.url), current_redis(), digest_id, batch
    )
    assert (retry.sent, retry.skipped) == (1, 3)
    assert set(smtp_server.per_recipient().values()) == {1}


def test_a_slow_batch_hands_over_what_it_could_not_send_in_time(
    settings: Settings, sessions: sessionmaker[Session], smtp_server: SmtpSink
) -> None:
    digest_id, batch = sending_batch(settings, sessions, readers=6)
    limiter = RateLimiter(current_redis(), f"newsroom:rate:test:{uuid.uuid4()}", 2)
    outcome = send_batch(
        sessions,
        settings,
        SmtpBackend(smtp_server.url),
        current_redis(),
        digest_id,
        batch,
        throttle=throttle([limiter]),
        deadline=time.monotonic() + 0.3,  # 2 a second: the burst of 2, then out of time
    )
    assert outcome.out_of_time
    sent = len(smtp_server.messages)
    assert 1 <= sent < 6
    with sessions.begin() as session:
        counts = digests.counts(session, digest_id)
    assert counts[DeliveryStatus.SENT] == sent
    assert counts[DeliveryStatus.PENDING] == 6 - sent  # given back, not lost, not sending
    assert counts[DeliveryStatus.SENDING] == 0
