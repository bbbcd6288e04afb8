"""Articles as the newsroom publishes them, read from JSON exports, RSS/Atom feeds or HTML pages.

The parsers are pure: bytes in, records and per-record errors out. Reading a file or a URL is
kept in `read_source`, so everything else can be tested without a network or a database.
"""

from worker.articles._feeds import parse_feed
from worker.articles._html import parse_html_page
from worker.articles._importer import ImportSummary, import_records
from worker.articles._json import parse_json
from worker.articles._links import with_utm
from worker.articles._record import ArticleRecord, ParseResult, RecordError, normalize_text
from worker.articles._sources import SourceError, parse_source, read_source

__all__ = [
    "ArticleRecord",
    "ImportSummary",
    "ParseResult",
    "RecordError",
    "SourceError",
    "import_records",
    "normalize_text",
    "parse_feed",
    "parse_html_page",
    "parse_json",
    "parse_source",
    "read_source",
    "with_utm",
]
