"""Store parsed articles: insert or update by URL, and announce each new one exactly once.

Each record is written inside a savepoint, so a record the database refuses is reported
and the others of the same source still land. A new article gets its ``article.published``
outbox row in the same transaction; ``announce`` is called for it only after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from worker.articles._record import ARTICLE_FIELDS, ArticleRecord, RecordError
from worker.store import Article, on_commit
from worker.store import articles as article_store


@dataclass
class ImportSummary:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RecordError] = field(default_factory=list)

    def add(self, other: ImportSummary) -> None:
        self.imported += other.imported
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected.extend(other.rejected)


def import_records(
    session: Session,
    records: Iterable[ArticleRecord],
    *,
    source: str,
    announce: Callable[[int], object],
) -> ImportSummary:
    summary = ImportSummary()
    for index, record in enumerate(records, start=1):
        try:
            with session.begin_nested():
                outcome = _upsert(session, record, announce)
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            summary.rejected.append(
                RecordError(source, f"record {index} ({record.url})", None, f"not stored: {reason}")
            )
            continue
        setattr(summary, outcome, getattr(summary, outcome) + 1)
    return summary


def _upsert(session: Session, record: ArticleRecord, announce: Callable[[int], object]) -> str:
    values = {name: getattr(record, name) for name in ARTICLE_FIELDS if name != "url"}
    values["tags"] = list(record.tags)
    article = article_store.get_by_url(session, record.url)
    if article is None:
        article = Article(url=record.url, **values)
        session.add(article)
        event = article_store.add_published_event(session, article)
        on_commit(session, lambda: announce(event.id))
        return "imported"
    changed = {k: v for k, v in values.items() if getattr(article, k) != v}
    if not changed:
        return "unchanged"
    for name, value in changed.items():
        setattr(article, name, value)
    session.flush()
    return "updated"
