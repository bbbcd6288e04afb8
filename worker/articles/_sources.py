"""Read an article source (a local file or an http(s) URL) and hand it to the right parser.

The format is decided from what the source says about itself before what it contains: the
server's Content-Type first, then the file extension, and only then the first bytes, because
content sniffing is a guess ("<?xml" starts feeds and XHTML pages alike). Generic types such as
text/xml or application/octet-stream say nothing and fall through to the next clue.

A source that cannot be read becomes one RecordError like any other problem, so an import over
many sources reports the dead URL and carries on with the others.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import urlsplit

import httpx

from worker.articles._feeds import parse_feed
from worker.articles._html import parse_html_page
from worker.articles._json import parse_json
from worker.articles._record import ParseResult, RecordError, is_http_url

_Format = Literal["json", "feed", "html"]

_CONTENT_TYPES: dict[str, _Format] = {
    "application/json": "json",
    "text/json": "json",
    "application/rss+xml": "feed",
    "application/atom+xml": "feed",
    "application/rdf+xml": "feed",
    "text/html": "html",
    "application/xhtml+xml": "html",
}
_EXTENSIONS: dict[str, _Format] = {
    ".json": "json",
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
    ".html": "html",
    ".htm": "html",
}
_ROOT_ELEMENTS: dict[bytes, _Format] = {
    b"rss": "feed",
    b"feed": "feed",
    b"rdf:rdf": "feed",
    b"html": "html",
}
# What may precede the root element: XML declaration, processing instructions, comments and
# doctypes, except "<!doctype html>", which is enough by itself (HTML may omit <html>).
_PROLOG = re.compile(rb"\A(?:\s+|<\?.*?\?>|<!--.*?-->|<!doctype\s+(?!html\b)[^>]*>)*", re.DOTALL)
_ROOT = re.compile(rb"<(?:!doctype\s+)?([a-z][\w.:-]*)")


class SourceError(Exception):
    """A source could not be read: missing file, unreachable host, HTTP error status."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message


def read_source(source: str, client: httpx.Client) -> tuple[bytes, str, str]:
    """Return (data, content type or "", final URL after redirects or the file path)."""
    scheme = urlsplit(source).scheme.lower()
    if scheme in {"http", "https"}:
        return _fetch(source, client)
    if "://" in source:
        raise SourceError(source, f"unsupported URL scheme {scheme!r}: use http(s) or a file path")
    path = Path(source).expanduser()
    try:
        return path.read_bytes(), "", str(path)
    except OSError as exc:
        raise SourceError(source, f"cannot read file: {exc.strerror or exc}") from exc


def parse_source(source: str, client: httpx.Client) -> ParseResult:
    """Read a source, recognise JSON, RSS/Atom or an HTML page, and parse it."""
    try:
        data, content_type, location = read_source(source, client)
    except SourceError as exc:
        return ParseResult(errors=[RecordError(source, "source", None, exc.message)])
    detected = _by_content_type(content_type) or _by_extension(location) or _by_content(data)
    match detected:
        case "json":
            return parse_json(data, source)
        case "feed":
            return parse_feed(data, source)
        case "html":
            return parse_html_page(data, source, url=location if is_http_url(location) else None)
        case _:
            described = f"content type {content_type!r}" if content_type else "no content type"
            message = f"unrecognised format ({described}): expected JSON, RSS/Atom or HTML"
            return ParseResult(errors=[RecordError(source, "source", None, message)])


def _fetch(url: str, client: httpx.Client) -> tuple[bytes, str, str]:
    try:
        response = client.get(url, follow_redirects=True)
    except httpx.TimeoutException as exc:
        raise SourceError(url, f"timed out: {_describe(exc)}") from exc
    except httpx.ConnectError as exc:
        raise SourceError(url, f"cannot connect: {_describe(exc)}") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise SourceError(url, f"request failed: {_describe(exc)}") from exc
    if response.status_code >= 400:
        raise SourceError(url, f"HTTP {response.status_code} {response.reason_phrase}".strip())
    return response.content, response.headers.get("content-type", ""), str(response.url)


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _by_content_type(content_type: str) -> _Format | None:
    media_type = content_type.partition(";")[0].strip().lower()
    return _CONTENT_TYPES.get(media_type)


def _by_extension(location: str) -> _Format | None:
    path = urlsplit(location).path if is_http_url(location) else location
    return _EXTENSIONS.get(PurePosixPath(path).suffix.lower())


def _by_content(data: bytes) -> _Format | None:
    head = data[:4096].removeprefix(codecs.BOM_UTF8).lstrip().lower()
    if head.startswith((b"{", b"[")):
        return "json"
    root = _ROOT.match(_PROLOG.sub(b"", head, count=1))
    return _ROOT_ELEMENTS.get(root.group(1)) if root else None
