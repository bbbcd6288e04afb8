"""What editors do with a whole list: page through it, count it, export it as CSV. The CLI
and the editors' API both call these, so a listing and an export never disagree."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from worker.store import SubscriptionStatus, subscribers
from worker.subscribers._import import ImportOutcome, ParsedFile

EXPORT_COLUMNS = ("email", "name", "language", "newsletter", "status", "subscribed_at")


def subscription_rows(
    session: Session,
    *,
    newsletter_id: int | None = None,
    status: SubscriptionStatus | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Iterator[dict[str, str]]:
    """Subscriptions, oldest first, as rows with the export's columns in its order."""
    for row in subscribers.listing(
        session, newsletter_id=newsletter_id, status=status, limit=limit, offset=offset
    ):
        yield {
            "email": row.email,
            "name": row.name,
            "language": row.language,
            "newsletter": row.newsletter,
            "status": SubscriptionStatus(row.status).value,
            "subscribed_at": row.subscribed_at.isoformat(),
        }


def counts_per_newsletter(session: Session, ids: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """For each newsletter (slug to id), its subscriptions per status, zeros included."""
    by_id = subscribers.counts_by_status(session)
    zeros = dict.fromkeys(SubscriptionStatus, 0)
    return {
        slug: {status.value: count for status, count in by_id.get(newsletter_id, zeros).items()}
        for slug, newsletter_id in ids.items()
    }


def csv_text(rows: Iterable[dict[str, str]], lines: int = 1000) -> Iterator[str]:
    """The export, a header then one line per subscription with names made
    spreadsheet-safe, as text ``lines`` rows at a time: a file or a response streams it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for count, row in enumerate(rows, 1):
        writer.writerow({**row, "name": _spreadsheet_safe(row["name"])}.values())
        if count % lines == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _spreadsheet_safe(name: str) -> str:
    """A name typed into a public form may start with "=" or "+": a spreadsheet would run
    it as a formula. A leading apostrophe makes it text (OWASP's advice on CSV injection).
    Addresses are exported as stored: changing one would make it another address."""
    return f"'{name}" if name[:1] in ("=", "+", "-", "@") else name


@dataclass(frozen=True)
class ImportReport:
    """An import's outcome with the file's problems, each (line, reason), in line order."""

    outcome: ImportOutcome
    problems: list[tuple[int, str]]
    rejected: int
    duplicates: int

    @classmethod
    def of(cls, parsed: ParsedFile, outcome: ImportOutcome) -> ImportReport:
        problems = list(parsed.rejected) + [
            (line, f"duplicate of line {first}, skipped") for line, first in parsed.duplicates
        ]
        return cls(outcome, sorted(problems), len(parsed.rejected), len(parsed.duplicates))

    def as_dict(self) -> dict[str, object]:
        return {
            "imported": len(self.outcome.imported),
            "already": self.outcome.already,
            "suppressed": self.outcome.suppressed,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "problems": [{"line": line, "reason": reason} for line, reason in self.problems],
        }
