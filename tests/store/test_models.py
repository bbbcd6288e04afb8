"""The schema and its query modules, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tests.db import create_article, create_newsletter, create_subscriber
from worker.store import (
    Article,
    Base,
    DeliveryStatus,
    DigestStatus,
    SubscriptionStatus,
    articles,
    digests,
    get_engine,
    subscribers,
    upgrade,
)


def test_migrations_create_every_model_table(database_url: str) -> None:
    upgrade(database_url)  # a second upgrade is a no-op
    tables = set(inspect(get_engine(database_url)).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def test_timestamps_come_back_aware_in_utc(sessions: sessionmaker[Session]) -> None:
    paris = timezone(timedelta(hours=1))
    with sessions.begin() as session:
        article = create_article(session, published_at=datetime(2026, 11, 24, 8, 30, tzinfo=paris))
        article_id = article.id
    with sessions.begin() as session:
        stored = articles.get(session, article_id)
        assert stored is not None
        assert stored.published_at == datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
        assert stored.published_at.tzinfo is not None
        assert stored.created_at.tzinfo is not None


def test_naive_datetime_is_refused(sessions: sessionmaker[Session]) -> None:
    session = sessions()
    with pytest.raises(Exception, match="naive datetime"):
        create_article(session, published_at=datetime(2026, 11, 24, 8, 30))
    session.rollback()


def test_typography_survives_storage(sessions: sessionmaker[Session]) -> None:
    title = "« Budget 2027 » : l’exécutif face à l’Assemblée 🇫🇷\u202f!"
    with sessions.begin() as session:
        create_article(session, title=title, tags=["assemblée nationale", "🗳️"])
    with sessions.begin() as session:
        stored = articles.find(session, "https://www.lequotidien.example/politique/article-1")
        assert stored is not None
        assert stored.title.encode() == title.encode()
        assert stored.tags == ["assemblée nationale", "🗳️"]
        assert articles.find(session, str(stored.id)) is stored


def test_article_url_is_unique(sessions: sessionmaker[Session]) -> None:
    session = sessions()
    create_article(session, 1)
    with pytest.raises(IntegrityError):
        create_article(session, 2, url="https://www.lequotidien.example/politique/article-1")
    session.rollback()
    with sessions.begin() as session:
        assert articles.latest(session, limit=10) == []


def test_published_event_is_unique_per_article(sessions: sessionmaker[Session]) -> None:
    session = sessions()
    article = create_article(session)
    articles.add_published_event(session, article)
    with pytest.raises(IntegrityError):
        articles.add_published_event(session, article)
    session.rollback()


def test_latest_filters_by_language_newest_first(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        create_article(session, 1)
        create_article(session, 2)
        create_article(session, 3, language="en")
        titles = [a.title for a in articles.latest(session, limit=10, language="fr")]
    assert titles == ["« Article 2 » : l’essentiel", "« Article 1 » : l’essentiel"]


def test_unsubscribed_address_is_never_revived(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        newsletter = create_newsletter(session)
        subscriber = create_subscriber(
            session, "left@example.org", newsletter, SubscriptionStatus.UNSUBSCRIBED
        )
        again = subscribers.subscribe(session, subscriber, newsletter, SubscriptionStatus.CONFIRMED)
        assert again.status is SubscriptionStatus.UNSUBSCRIBED


def test_deliveries_only_for_confirmed_and_claimed_once(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        newsletter = create_newsletter(session)
        other = create_newsletter(session, "morning-briefing", "en")
        create_subscriber(session, "a@example.org", newsletter)
        create_subscriber(session, "b@example.org", newsletter)
        create_subscriber(session, "c@example.org", newsletter, SubscriptionStatus.PENDING)
        create_subscriber(session, "d@example.org", newsletter, SubscriptionStatus.BOUNCED)
        create_subscriber(session, "e@example.org", other)
        digest = digests.create(
            session, newsletter, subject="s", html="h", text="t", article_ids=[]
        )
        assert digests.add_deliveries(session, digest) == 2
        digests.set_status(session, digest, DigestStatus.SENDING)
        digest_id = digest.id
    with sessions.begin() as session:
        (batch,) = list(digests.pending_batches(session, digest_id, 500))
        emails = [s.email for _, s in digests.recipients(session, batch)]
        assert emails == ["a@example.org", "b@example.org"]
    with sessions.begin() as session:
        assert digests.claim_batch(session, digest_id, batch[:1], "run-1") == batch[:1]
    with sessions.begin() as session:
        # another run (a redelivered task) finds the row taken
        assert digests.claim_batch(session, digest_id, batch, "run-2") == batch[1:]
        digests.apply_results(session, "run-1", [(batch[0], "sent", "<m@x>")])
        digests.apply_results(session, "run-1", [(batch[1], "sent", "<wrong run@x>")])
        counts = digests.counts(session, digest_id)
    assert counts[DeliveryStatus.SENT] == 1
    assert counts[DeliveryStatus.SENDING] == 1  # still held by run-2


def test_pending_batches_are_keyset_pages(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        newsletter = create_newsletter(session)
        for n in range(7):
            create_subscriber(session, f"s{n}@example.org", newsletter)
        digest = digests.create(
            session, newsletter, subject="s", html="h", text="t", article_ids=[]
        )
        digests.add_deliveries(session, digest)
        batches = list(digests.pending_batches(session, digest.id, 3))
    assert [len(b) for b in batches] == [3, 3, 1]
    flat = [delivery_id for batch in batches for delivery_id in batch]
    assert sorted(flat) == flat


def sending_digest(session: Session, emails: list[str]) -> tuple[int, list[int]]:
    newsletter = create_newsletter(session)
    for email in emails:
        create_subscriber(session, email, newsletter)
    digest = digests.create(session, newsletter, subject="s", html="h", text="t", article_ids=[])
    digests.add_deliveries(session, digest)
    digests.set_status(session, digest, DigestStatus.SENDING)
    (batch,) = list(digests.pending_batches(session, digest.id, 100))
    return digest.id, batch


def test_digest_finishes_only_when_no_row_is_open(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        digest_id, batch = sending_digest(session, ["a@example.org", "b@example.org"])
        assert digests.finish_if_done(session, digest_id) is None
        digests.claim_batch(session, digest_id, batch[:1], "run")
        assert digests.finish_if_done(session, digest_id) is None  # one row in flight
        digests.apply_results(session, "run", [(batch[0], "sent", "<m@x>")])
        digests.fail_pending(session, batch, "gave up")
        assert digests.finish_if_done(session, digest_id) is DigestStatus.SENT
        digest = digests.get(session, digest_id)
        assert digest is not None
        assert digest.status is DigestStatus.SENT
        assert digest.finished_at is not None


def test_digest_where_nothing_could_be_sent_is_failed(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        digest_id, batch = sending_digest(session, ["a@example.org"])
        digests.fail_pending(session, batch, "gave up")
        assert digests.finish_if_done(session, digest_id) is DigestStatus.FAILED


def test_a_paused_digest_lends_no_rows_and_resumes_where_it_stopped(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        digest_id, batch = sending_digest(session, ["a@example.org", "b@example.org"])
        assert digests.claim_batch(session, digest_id, batch[:1], "run") == batch[:1]
        digest = digests.get(session, digest_id)
        assert digest is not None
        assert digests.pause(session, digest)
        assert digests.claim_batch(session, digest_id, batch[1:], "late") == []
        assert digests.finish_if_done(session, digest_id) is None  # paused is not finished
        digests.apply_results(session, "run", [(batch[0], "sent", "<m@x>")])
        assert digests.resume(session, digest)
        assert list(digests.pending_batches(session, digest_id, 10)) == [[batch[1]]]
        assert not digests.resume(session, digest)


def test_cancel_marks_what_is_left_including_rows_given_back(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        digest_id, batch = sending_digest(session, ["a@example.org", "b@example.org"])
        digests.claim_batch(session, digest_id, batch[:1], "run")
        digest = digests.get(session, digest_id)
        assert digest is not None
        assert digests.cancel(session, digest)
        assert digests.claim_batch(session, digest_id, batch, "late") == []
        digests.release(session, "run", batch[:1])  # the run stops and gives its row back
        counts = digests.counts(session, digest_id)
        assert counts[DeliveryStatus.CANCELLED] == 2
        assert not digests.cancel(session, digest)
        assert not digests.resume(session, digest)


def test_an_unsubscribe_after_queueing_is_honoured(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        digest_id, batch = sending_digest(
            session, ["a@example.org", "b@example.org", "c@example.org"]
        )
        digests.claim_batch(session, digest_id, batch[2:], "run")
        newsletter = create_newsletter(session)
        for email in ("a@example.org", "c@example.org"):
            subscriber = subscribers.get_by_email(session, email)
            assert subscriber is not None
            subscription = subscribers.subscription(session, subscriber, newsletter)
            assert subscription is not None
            subscription.status = SubscriptionStatus.UNSUBSCRIBED
        session.flush()
        digest = digests.get(session, digest_id)
        assert digest is not None
        assert digests.skip_unsubscribed(session, digest.newsletter_id, batch) == {
            batch[0]  # a, still pending
        }
        assert digests.skip_unsubscribed(session, newsletter.id, batch, held_by="run") == {
            batch[2]  # c, held by a run that had not sent it yet
        }
        assert digests.counts(session, digest_id)[DeliveryStatus.SKIPPED] == 2


def test_stale_runs_are_found_by_their_claim_age(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        digest_id, batch = sending_digest(session, ["a@example.org", "b@example.org"])
        digests.claim_batch(session, digest_id, batch, "run")
        assert digests.stale_runs(session, older_than=timedelta(hours=1)) == []
        assert digests.stale_runs(session, older_than=timedelta(0)) == ["run"]
        assert digests.held_by(session, "run") == batch
        digests.mark_unknown(session, "run", batch[:1], "lost")
        assert digests.held_by(session, "run") == batch[1:]


def test_articles_for_digest_follow_the_selection_rules(sessions: sessionmaker[Session]) -> None:
    base = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    with sessions.begin() as session:

        def at(hours: float) -> dict[str, datetime]:  # published and imported then
            return {
                "published_at": base + timedelta(hours=hours),
                "created_at": base + timedelta(hours=hours),
            }

        create_article(session, 1, **at(0), section="politique", tags=["Budget"])
        create_article(session, 2, **at(1), tags=["sport"])
        create_article(session, 3, **at(2), section="monde")
        create_article(session, 4, **at(3), language="en")

        def pick(**rules: object) -> list[str]:
            found = articles.for_digest(
                session,
                **{
                    "language": "fr",
                    "sections": [],
                    "tags": [],
                    "since": None,
                    "newest_first": True,
                    "limit": 10,
                    **rules,
                },  # type: ignore[arg-type]
            )
            return [a.url.rsplit("-", 1)[1] for a in found]

        assert pick() == ["3", "2", "1"]
        assert pick(newest_first=False, limit=2) == ["1", "2"]
        assert pick(sections=["politique", "monde"]) == ["3", "1"]
        assert pick(tags=["budget"]) == ["1"]
        assert pick(sections=["monde"], tags=["sport"]) == ["3", "2"]
        assert pick(since=base + timedelta(minutes=30)) == ["3", "2"]
        assert pick(language="en") == ["4"]
        # sent by the CMS after the previous edition but dated before it, or not dated:
        # news to the readers all the same, placed by when it arrived if undated
        create_article(session, 5, published_at=base, created_at=base + timedelta(hours=4))
        create_article(session, 6, published_at=None, created_at=base + timedelta(hours=5))
        assert pick(since=base + timedelta(hours=3)) == ["6", "5"]
        assert pick() == ["6", "3", "2", "1", "5"]  # a tie goes to the first imported


def test_article_delete_cascades_to_events(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        article = create_article(session)
        articles.add_published_event(session, article)
    with sessions.begin() as session:
        session.delete(session.get(Article, article.id))
    with sessions.begin() as session:
        assert articles.unhandled_events(session, older_than=timedelta(0)) == []


def test_migrations_keep_existing_rows(tmp_path: Path) -> None:
    """On SQLite a migration copies tables; with foreign keys on, the copy used to cascade
    and delete every delivery."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0001")
    with get_engine(url).begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO newsletters (id, slug, title, language, created_at)"
            " VALUES (1, 'n', 'N', 'fr', '2026-11-24 07:00:00')"
        )
        connection.exec_driver_sql(
            "INSERT INTO subscribers (id, email, name, language, created_at)"
            " VALUES (1, 'a@example.org', '', '', '2026-11-24 07:00:00')"
        )
        connection.exec_driver_sql(
            "INSERT INTO digests (id, newsletter_id, status, subject, html, text, article_ids,"
            " created_at) VALUES (1, 1, 'sent', 's', 'h', 't', '[]', '2026-11-24 07:00:00')"
        )
        connection.exec_driver_sql(
            "INSERT INTO deliveries (digest_id, subscriber_id, status, attempts, error,"
            " message_id) VALUES (1, 1, 'sent', 1, '', '<m@x>')"
        )
    upgrade(url)
    with get_engine(url).begin() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM deliveries").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_migrations_match_the_models(database_url: str) -> None:
    """A model change without its migration would only show on a deployed database."""
    upgrade(database_url)
    with get_engine(database_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
