"""Storing articles: idempotent by URL, one event per new article, announced after commit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import truncate
from worker.articles import ArticleRecord, import_records
from worker.store import Article, ArticleEvent, session_factory, upgrade

RECORD = ArticleRecord(
    url="https://www.lequotidien.example/politique/censure",
    title="Motion de censure : « Nous irons jusqu’au bout »",
    summary="L’opposition dépose une motion.",
    published_at=datetime(2026, 11, 23, 18, 0, tzinfo=UTC),
    tags=("politique", "gouvernement"),
    language="fr",
)


def stored(sessions: sessionmaker[Session]) -> tuple[list[Article], list[ArticleEvent]]:
    with sessions.begin() as session:
        return list(session.scalars(select(Article))), list(session.scalars(select(ArticleEvent)))


def test_reimport_updates_in_place_and_announces_once(sessions: sessionmaker[Session]) -> None:
    announced: list[int] = []
    for record in (RECORD, RECORD, replace(RECORD, title="Motion de censure : l’issue du vote")):
        with sessions.begin() as session:
            import_records(session, [record], source="test", announce=announced.append)
    articles, events = stored(sessions)
    assert len(articles) == 1
    assert articles[0].title == "Motion de censure : l’issue du vote"
    assert articles[0].tags == ["politique", "gouvernement"]
    assert [e.id for e in events] == announced
    assert len(announced) == 1


def test_nothing_is_announced_before_commit_nor_after_rollback(
    sessions: sessionmaker[Session],
) -> None:
    announced: list[int] = []

    def interrupted_import() -> None:
        with sessions.begin() as session:
            import_records(session, [RECORD], source="test", announce=announced.append)
            assert announced == []  # still inside the transaction
            raise RuntimeError("the import is interrupted")

    with pytest.raises(RuntimeError):
        interrupted_import()
    assert announced == []
    assert stored(sessions) == ([], [])


def test_a_record_the_database_refuses_is_reported_and_the_rest_lands(
    sessions: sessionmaker[Session], database_url: str
) -> None:
    too_long = replace(RECORD, url="https://www.lequotidien.example/x", author="x" * 600)
    other = replace(RECORD, url="https://www.lequotidien.example/ok")
    with sessions.begin() as session:
        summary = import_records(
            session, [too_long, other], source="feed.xml", announce=lambda _: None
        )
    articles, _ = stored(sessions)
    if database_url.startswith("sqlite"):
        # SQLite does not enforce VARCHAR lengths: both land.
        assert summary.imported == 2
        return
    assert summary.imported == 1
    assert [a.url for a in articles] == ["https://www.lequotidien.example/ok"]
    (error,) = summary.rejected
    assert str(error).startswith("feed.xml: record 1 (https://www.lequotidien.example/x): ")


@pytest.fixture
def postgres_sessions(postgresql_url: str) -> Iterator[sessionmaker[Session]]:
    """PostgreSQL only: the test needs a constraint SQLite does not enforce (VARCHAR length)."""
    upgrade(postgresql_url)
    yield session_factory(postgresql_url)
    truncate(postgresql_url)


def test_a_rejected_record_does_not_cancel_the_announcements_before_it(
    postgres_sessions: sessionmaker[Session],
) -> None:
    sessions = postgres_sessions
    records = [
        replace(RECORD, url="https://www.lequotidien.example/1"),
        replace(RECORD, url="https://www.lequotidien.example/2", author="x" * 600),
        replace(RECORD, url="https://www.lequotidien.example/3"),
    ]
    announced: list[int] = []
    with sessions.begin() as session:
        summary = import_records(session, records, source="test", announce=announced.append)
    _, events = stored(sessions)
    assert summary.imported == 2
    assert sorted(announced) == sorted(e.id for e in events)
    assert len(announced) == 2
