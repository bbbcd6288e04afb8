"""Parse one article's HTML page.

Metadata is read from what the CMS already publishes for search engines and social networks,
JSON-LD and Open Graph (with extruct), rather than scraped from the layout, so a template
redesign does not break the import. JSON-LD wins because it is typed (a datePublished with its
offset, authors as a list); Open Graph fills what it lacks; the canonical link and then the
address the page was fetched from are the last URL fallbacks. The main text comes from
trafilatura, which leaves out navigation, share buttons and "read also" boxes.

The bytes are decoded here, before lxml sees them: lxml's HTML parser falls back to Latin-1 for
a page without a charset declaration, which garbles every accent of a UTF-8 page.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from worker.articles._record import (
    ArticleRecord,
    ParseResult,
    RecordError,
    is_http_url,
    normalize_text,
)

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_XML_DECLARATION = re.compile(rb"""\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)""")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
# A str holding an XML declaration is refused by lxml; the encoding is already applied.
_XML_DECLARATION_TEXT = re.compile(r"\A\s*<\?xml[^>]*\?>")
# What browsers actually do (WHATWG Encoding): pages labelled Latin-1 or ASCII are windows-1252.
_WINDOWS_1252_ALIASES = frozenset({"ascii", "iso8859-1", "latin-1"})
# trafilatura turns every Unicode space into " " (it splits on str.isspace), which would erase
# the non-breaking spaces French typography puts inside « » and before : ; ! ?. They cross it
# disguised as printable letters absent from the page (Yi syllables) and are restored after.
_KEPT_SPACES = "\u00a0\u2007\u2009\u202f"
_DISGUISES = tuple(chr(code) for code in range(0xA000, 0xA48D))
_MAIN_TEXT_PARSER = lxml.html.HTMLParser(remove_comments=True, remove_pis=True)


def parse_html_page(data: bytes, source: str, url: str | None = None) -> ParseResult:
    """Parse one article page; `url` is the address it was fetched from, if any."""
    text = _XML_DECLARATION_TEXT.sub("", _decode(data), count=1)
    try:
        tree = lxml.html.document_fromstring(text)
    except etree.ParserError as exc:
        return ParseResult(errors=[RecordError(source, "page", None, f"not an HTML page: {exc}")])
    page = _Page(tree, url or "")
    if not page.is_article():
        message = "not an article page: no JSON-LD article, og:type=article or <article> heading"
        return ParseResult(errors=[RecordError(source, "page", None, message)])

    page_url = page.url()
    label = f"page ({page_url})" if page_url else "page"
    errors: list[RecordError] = []
    if not page_url:
        message = "no absolute URL in JSON-LD, og:url, <link rel=canonical> or the fetch address"
        errors.append(RecordError(source, label, "url", message))
    title = page.title()
    if not title:
        message = "no JSON-LD headline, og:title or <h1> inside <article>"
        errors.append(RecordError(source, label, "title", message))
    published_at = None
    date_field, date_text = page.published()
    if date_text:
        published_at = _parse_datetime(date_text)
        if published_at is None:
            message = f"expected an ISO 8601 date-time with UTC offset, got {date_text!r}"
            errors.append(RecordError(source, label, date_field, message))
    if errors:
        return ParseResult(errors=errors)

    record = ArticleRecord(
        url=page_url,
        title=title,
        summary=page.summary(),
        body=_main_text(text, page_url),
        author=page.author(),
        published_at=published_at,
        tags=page.tags(),
        section=page.section(),
        image_url=page.image_url(page_url),
        language=page.language(),
    )
    return ParseResult(records=[record])


class _Page:
    """An article page's metadata, each field looked up JSON-LD first, then Open Graph."""

    def __init__(self, tree: lxml.html.HtmlElement, fetched_url: str) -> None:
        self._tree = tree
        self._fetched_url = fetched_url
        self._article = next(_json_ld_articles(tree), {})
        self._og = _open_graph(tree)

    def is_article(self) -> bool:
        return bool(self._article) or self._og_first("og:type") == "article" or bool(self._h1())

    def url(self) -> str:
        candidates = (
            self._ld_first("url"),
            self._ld_first("mainEntityOfPage", "@id", "url"),
            self._og_first("og:url"),
            self._canonical(),
            self._fetched_url,
        )
        return _first_url(candidates, self._fetched_url)

    def title(self) -> str:
        return _first(self._ld_first("headline"), self._og_first("og:title"), self._h1())

    def summary(self) -> str:
        return _first(
            self._ld_first("description"),
            self._og_first("og:description"),
            *map(normalize_text, self._tree.xpath('//meta[@name="description"]/@content')),
        )

    def author(self) -> str:
        return ", ".join(dict.fromkeys(_ld_strings(self._article.get("author"), "name")))

    def published(self) -> tuple[str, str]:
        """The first date present, with the name of the field it came from for errors."""
        for field, value in (
            ("datePublished", self._ld_first("datePublished")),
            ("article:published_time", self._og_first("article:published_time")),
        ):
            if value:
                return field, value
        return "", ""

    def tags(self) -> tuple[str, ...]:
        keywords = self._article.get("keywords")
        if isinstance(keywords, str):
            tags = [normalize_text(keyword) for keyword in keywords.split(",")]
        else:
            tags = _ld_strings(keywords) or self._og.get("article:tag", [])
        return tuple(dict.fromkeys(tag for tag in tags if tag))

    def section(self) -> str:
        return _first(self._ld_first("articleSection"), self._og_first("article:section"))

    def image_url(self, page_url: str) -> str:
        candidates = (self._ld_first("image", "url", "contentUrl"), self._og_first("og:image"))
        return _first_url(candidates, page_url)

    def language(self) -> str:
        return _first(
            self._ld_first("inLanguage", "alternateName"),
            self._og_first("og:locale").replace("_", "-"),
            normalize_text(self._tree.get("lang") or ""),
        )

    def _ld_first(self, key: str, *keys: str) -> str:
        return _first(*_ld_strings(self._article.get(key), *keys))

    def _og_first(self, prop: str) -> str:
        return _first(*self._og.get(prop, []))

    def _h1(self) -> str:
        return _first(
            *(normalize_text(h1.text_content()) for h1 in self._tree.iterfind(".//article//h1"))
        )

    def _canonical(self) -> str:
        for link in self._tree.iter("link"):
            if "canonical" in (link.get("rel") or "").lower().split():
                return normalize_text(link.get("href") or "")
        return ""


def _json_ld_articles(tree: lxml.html.HtmlElement) -> Iterator[dict[str, Any]]:
    """JSON-LD objects typed as an article, at the top level or inside an @graph."""
    from extruct.jsonld import JsonLdExtractor  # imported where used: see _main_text

    extractor = JsonLdExtractor()
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            items = extractor.extract_items(script)
        except ValueError:
            continue  # one broken block (often an ad tag's) must not hide the others
        for item in items:
            graph = item.get("@graph") if isinstance(item, dict) else None
            for node in [item, *(graph if isinstance(graph, list) else [])]:
                if isinstance(node, dict) and _is_article_type(node.get("@type")):
                    yield node


def _is_article_type(value: object) -> bool:
    """NewsArticle, ReportageNewsArticle, "schema:Article", "https://schema.org/BlogPosting"..."""
    for type_name in value if isinstance(value, list) else [value]:
        if isinstance(type_name, str):
            name = re.split(r"[/:#]", type_name)[-1]
            if name.endswith("Article") or name in {"BlogPosting", "LiveBlogPosting"}:
                return True
    return False


def _ld_strings(value: object, *keys: str) -> list[str]:
    """Texts of a JSON-LD value: a string, an object (read through `keys`) or a list of them."""
    if isinstance(value, str):
        text = normalize_text(value)
        return [text] if text else []
    if isinstance(value, list):
        return [text for item in value for text in _ld_strings(item, *keys)]
    if isinstance(value, dict):
        for key in keys:
            texts = _ld_strings(value.get(key))
            if texts:
                return texts
    return []


def _open_graph(tree: lxml.html.HtmlElement) -> dict[str, list[str]]:
    """Open Graph properties in page order; article:tag and og:image may repeat."""
    from extruct.opengraph import OpenGraphExtractor

    properties: dict[str, list[str]] = {}
    for item in OpenGraphExtractor().extract_items(tree):
        for prop, value in item["properties"]:
            text = normalize_text(value)
            if text:
                properties.setdefault(prop, []).append(text)
    return properties


def _main_text(text: str, page_url: str) -> str:
    """The article's text without navigation or share buttons, typography kept intact."""
    tree = lxml.html.document_fromstring(text, parser=_MAIN_TEXT_PARSER)
    present = set(tree.text_content())
    free = (char for char in _DISGUISES if char not in present)
    disguises = dict(zip(_KEPT_SPACES, free, strict=False))
    disguise = str.maketrans(disguises)
    for element in tree.iter():
        if element.text:
            element.text = element.text.translate(disguise)
        if element.tail:
            element.tail = element.tail.translate(disguise)
    # imported here, not at the top: with extruct it takes half a second, which every
    # command and worker would pay for pages only `articles import` reads
    import trafilatura

    extracted = trafilatura.extract(tree, url=page_url or None, include_comments=False) or ""
    restore = str.maketrans({hidden: space for space, hidden in disguises.items()})
    return normalize_text(extracted.translate(restore))


def _first(*candidates: str) -> str:
    return next((candidate for candidate in candidates if candidate), "")


def _first_url(candidates: Iterable[str], base: str) -> str:
    """The first candidate that is, once resolved against `base`, an absolute http(s) URL."""
    for candidate in candidates:
        url = urljoin(base, candidate) if candidate else ""
        if is_http_url(url):
            return url
    return ""


def _parse_datetime(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _decode(data: bytes) -> str:
    """Decode as a browser would: BOM, then declared charset, then UTF-8, then windows-1252."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    head = data[:4096]
    declared = _XML_DECLARATION.match(head) or _META_CHARSET.search(head)
    if declared:
        try:
            encoding = codecs.lookup(declared.group(1).decode("ascii")).name
        except LookupError:
            pass  # an unknown label is ignored, as browsers do
        else:
            if encoding in _WINDOWS_1252_ALIASES:
                encoding = "cp1252"
            return data.decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")
