"""The article as every source format is turned into, before it reaches the database.

Parsers return records and errors side by side so one bad item never hides the good ones:
the importer stores the valid records and reports each error with its source, record and
field.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, fields
from datetime import datetime
from urllib.parse import urlsplit


@dataclass(frozen=True)
class ArticleRecord:
    """One published article, text already normalized to NFC."""

    url: str
    title: str
    summary: str = ""
    body: str = ""
    author: str = ""
    published_at: datetime | None = None
    tags: tuple[str, ...] = ()
    section: str = ""
    image_url: str = ""
    language: str = ""


ARTICLE_FIELDS = tuple(f.name for f in fields(ArticleRecord))


@dataclass(frozen=True)
class RecordError:
    """Why one record of a source was rejected, precise enough to fix the source."""

    source: str
    record: str
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.record}"
        if self.field:
            where += f": field {self.field!r}"
        return f"{where}: {self.message}"


@dataclass
class ParseResult:
    records: list[ArticleRecord] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)

    def extend(self, other: ParseResult) -> None:
        self.records.extend(other.records)
        self.errors.extend(other.errors)


def normalize_text(value: str) -> str:
    """NFC, so that « é » typed as e + U+0301 and as U+00E9 store and compare the same."""
    return unicodedata.normalize("NFC", value).strip()


def is_http_url(value: str) -> bool:
    """True for an absolute http(s) URL with a host: the only kind a reader can open."""
    if any(char.isspace() for char in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname)
