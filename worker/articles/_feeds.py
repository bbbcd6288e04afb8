"""Parse RSS 2.0 and Atom feeds with feedparser.

feedparser is given the raw bytes, not text decoded by us: the XML declaration (or BOM) is the
only reliable statement of a feed's encoding, and plenty of French sites still publish
ISO-8859-1 or windows-1252 feeds that a UTF-8 decode would turn into mojibake. The bytes go in
a BytesIO because feedparser treats a bare str or bytes argument as a file name or URL it may
open, which a parser of downloaded data must never do.

A feed is the site's public output rather than an export made for us, so it is read the way
feed readers read it: unknown elements are ignored and feedparser's recovery from small XML
defects is accepted as long as it yields entries. Only a document that is not a feed at all is
rejected as a whole; an entry is rejected when it lacks what an article cannot do without (an
absolute link and a title) or carries a date nobody can read.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin
from xml.sax import SAXParseException

import feedparser
import lxml.html
from lxml import etree

from worker.articles._record import (
    ArticleRecord,
    ParseResult,
    RecordError,
    is_http_url,
    normalize_text,
)

# Elements after which text_content() must break the line, or "<p>a</p><p>b</p>" reads "ab".
_BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption"}
    | {"figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main"}
    | {"ol", "p", "pre", "section", "table", "td", "th", "tr", "ul"}
)
# ASCII only: U+00A0 and U+202F around « » and before : ; ! ? are typography, not layout.
_LAYOUT_SPACE = re.compile(r"[ \t\r\n\f\v]+")
_RSS_AUTHOR = re.compile(r"\s*[^\s@()]+@[^\s()]+\s*\((?P<name>[^()]+)\)\s*\Z")


def parse_feed(data: bytes, source: str) -> ParseResult:
    """Parse an RSS 2.0 or Atom document into one record per valid entry."""
    parsed = feedparser.parse(io.BytesIO(data))
    if not parsed.entries and (parsed.bozo or not parsed.version):
        return ParseResult(errors=[_not_a_feed(source, parsed)])
    feed_link = parsed.feed.get("link", "")
    feed_language = parsed.feed.get("language") or ""
    result = ParseResult()
    for number, entry in enumerate(parsed.entries, start=1):
        record, errors = _read_entry(entry, number, source, feed_link, feed_language)
        if record is not None:
            result.records.append(record)
        result.errors.extend(errors)
    return result


def _not_a_feed(source: str, parsed: feedparser.FeedParserDict) -> RecordError:
    exc = parsed.get("bozo_exception")
    if isinstance(exc, SAXParseException):
        where = f"line {exc.getLineNumber()}, column {exc.getColumnNumber()}"
        return RecordError(source, where, None, f"not a valid RSS/Atom feed: {exc.getMessage()}")
    reason = str(exc) if exc else "no <rss> or <feed> root element"
    return RecordError(source, "feed", None, f"not a valid RSS/Atom feed: {reason}")


def _read_entry(
    entry: feedparser.FeedParserDict,
    number: int,
    source: str,
    feed_link: str,
    feed_language: str,
) -> tuple[ArticleRecord | None, list[RecordError]]:
    link = normalize_text(entry.get("link") or "")
    url = urljoin(feed_link, link) if link else ""
    label = f"entry {number}" + (f" ({url})" if url else "")
    errors: list[RecordError] = []
    if not link:
        errors.append(RecordError(source, label, "link", "is missing"))
    elif not is_http_url(url):
        errors.append(RecordError(source, label, "link", f"not an absolute http(s) URL: {link!r}"))

    title = _text_of(entry.get("title_detail"))
    if not title:
        errors.append(RecordError(source, label, "title", "is missing"))

    published_at = None
    for field in ("published", "updated"):
        if entry.get(field):
            parsed_time = entry.get(f"{field}_parsed")
            if parsed_time is None:
                message = f"unreadable date {entry[field]!r}"
                errors.append(RecordError(source, label, field, message))
            else:
                published_at = datetime(*parsed_time[:6], tzinfo=UTC)
            break

    if errors:
        return None, errors
    language = next(
        (
            detail["language"]
            for detail in (entry.get("title_detail"), *entry.get("content", ()))
            if detail and detail.get("language")
        ),
        feed_language,
    )
    record = ArticleRecord(
        url=url,
        title=title,
        summary=_text_of(entry.get("summary_detail")),
        body=_body(entry),
        author=_author(entry),
        published_at=published_at,
        tags=_tags(entry),
        section="",
        image_url=_image_url(entry, url),
        language=normalize_text(language),
    )
    return record, []


def _text_of(detail: dict[str, Any] | None) -> str:
    """Plain text of a feedparser text construct, whether it was declared text or HTML."""
    if not detail:
        return ""
    value = detail.get("value") or ""
    if "html" in (detail.get("type") or ""):
        return _html_to_text(value)
    return normalize_text(value)


def _html_to_text(fragment: str) -> str:
    """Readable plain text of an HTML fragment: one line per block, layout spaces collapsed."""
    if not fragment.strip():
        return ""
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    for hidden in root.xpath(".//script | .//style"):
        hidden.drop_tree()
    for element in root.iter(etree.Element):
        if element.text:
            element.text = _LAYOUT_SPACE.sub(" ", element.text)
        tail = _LAYOUT_SPACE.sub(" ", element.tail) if element.tail else ""
        element.tail = "\n" + tail if element.tag in _BLOCK_TAGS else tail
    lines = (normalize_text(line) for line in root.text_content().split("\n"))
    return "\n".join(line for line in lines if line)


def _body(entry: feedparser.FeedParserDict) -> str:
    contents = entry.get("content") or []
    html = [content for content in contents if "html" in (content.get("type") or "")]
    chosen = (html or contents or [{}])[0]
    return normalize_text(chosen.get("value") or "")


def _author(entry: feedparser.FeedParserDict) -> str:
    # feedparser's own split of RSS "email (Name)" misreads domains whose last label is longer
    # than four letters (…@gazette.media), so that form is read here.
    rss_author = _RSS_AUTHOR.match(entry.get("author") or "")
    if rss_author:
        return normalize_text(rss_author["name"])
    names = [normalize_text(author.get("name") or "") for author in entry.get("authors") or []]
    names = [name for name in names if name]
    return ", ".join(dict.fromkeys(names)) or normalize_text(entry.get("author") or "")


def _tags(entry: feedparser.FeedParserDict) -> tuple[str, ...]:
    tags = entry.get("tags") or []
    terms = (normalize_text(tag.get("term") or tag.get("label") or "") for tag in tags)
    return tuple(dict.fromkeys(term for term in terms if term))


def _image_url(entry: feedparser.FeedParserDict, page_url: str) -> str:
    candidates = [
        media.get("url")
        for media in entry.get("media_content") or []
        if media.get("medium") == "image" or (media.get("type") or "").startswith("image/")
    ]
    candidates += [thumbnail.get("url") for thumbnail in entry.get("media_thumbnail") or []]
    candidates += [
        link.get("href")
        for link in entry.get("links") or []
        if link.get("rel") == "enclosure" and (link.get("type") or "").startswith("image/")
    ]
    for candidate in candidates:
        url = urljoin(page_url, normalize_text(candidate or ""))
        if candidate and is_http_url(url):
            return url
    return ""
