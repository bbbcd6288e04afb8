"""Parse the CMS's JSON export: one article object or a list of them.

This is the one format written for us rather than for readers, so it is read strictly. An
unknown field is far more likely a typo in the CMS template ("publised_at") than a deliberate
extension, and ignoring it would quietly import articles without the date or summary that
someone thought they were sending. Dates must carry their UTC offset for the same reason: a
naive "08:30" is Paris time to the newsroom and UTC to the server, and digests sent an hour
early or late are a bug nobody traces back to the export.

Each record is checked on its own and every problem in it is reported (record number, URL,
field), so one broken article never holds back the others of the same file.
"""

from __future__ import annotations

import difflib
import json
import re
from datetime import datetime
from typing import Any

from worker.articles._record import (
    ARTICLE_FIELDS,
    ArticleRecord,
    ParseResult,
    RecordError,
    is_http_url,
    normalize_text,
)

_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*\Z")


def parse_json(data: bytes, source: str) -> ParseResult:
    """Parse an export of one article object or a list of them; see the module docstring."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        message = f"not valid UTF-8 ({exc.reason}); export the file as UTF-8"
        return ParseResult(errors=[RecordError(source, f"byte {exc.start}", None, message)])
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        return ParseResult(errors=[RecordError(source, where, None, f"malformed JSON: {exc.msg}")])

    result = ParseResult()
    items = document if isinstance(document, list) else [document]
    for number, item in enumerate(items, start=1):
        label = f"record {number}"
        if not isinstance(item, dict):
            message = f"expected a JSON object, got {_json_type(item)}"
            result.errors.append(RecordError(source, label, None, message))
            continue
        url = item.get("url")
        if isinstance(url, str) and url.strip():
            label += f" ({normalize_text(url)})"
        reader = _RecordReader(item, source, label)
        record = reader.read()
        if record is not None:
            result.records.append(record)
        result.errors.extend(reader.errors)
    return result


def _json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages aimed at CMS developers."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class _RecordReader:
    """Validates one decoded record, collecting an error per faulty field."""

    def __init__(self, item: dict[str, Any], source: str, label: str) -> None:
        self._item = item
        self._source = source
        self._label = label
        self.errors: list[RecordError] = []

    def read(self) -> ArticleRecord | None:
        for name in self._item:
            if name not in ARTICLE_FIELDS:
                self._fail(name, _unknown_field_message(name))
        record = ArticleRecord(
            url=self._url("url", required=True),
            title=self._text("title", required=True),
            summary=self._text("summary"),
            body=self._text("body"),
            author=self._text("author"),
            published_at=self._datetime("published_at"),
            tags=self._tags("tags"),
            section=self._text("section"),
            image_url=self._url("image_url"),
            language=self._language("language"),
        )
        return None if self.errors else record

    def _fail(self, field: str | None, message: str) -> None:
        self.errors.append(RecordError(self._source, self._label, field, message))

    def _text(self, name: str, *, required: bool = False) -> str:
        value = self._item.get(name)
        if value is None:
            if required:
                self._fail(name, "is required")
            return ""
        if not isinstance(value, str):
            self._fail(name, f"expected a string, got {_json_type(value)}")
            return ""
        text = normalize_text(value)
        if required and not text:
            self._fail(name, "must not be empty")
        return text

    def _url(self, name: str, *, required: bool = False) -> str:
        url = self._text(name, required=required)
        if url and not is_http_url(url):
            self._fail(name, f"expected an absolute http(s) URL, got {url!r}")
        return url

    def _datetime(self, name: str) -> datetime | None:
        text = self._text(name)
        if not text:
            return None
        example = "2026-11-24T08:30:00+01:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self._fail(name, f"expected an ISO 8601 date-time such as {example}, got {text!r}")
            return None
        if moment.tzinfo is None:
            self._fail(name, f"{text!r} has no UTC offset; write it like {example}")
            return None
        return moment

    def _tags(self, name: str) -> tuple[str, ...]:
        value = self._item.get(name)
        if value is None:
            return ()
        if not isinstance(value, list):
            self._fail(name, f"expected an array of strings, got {_json_type(value)}")
            return ()
        wrong = [
            f"item {index} is {_json_type(tag)}"
            for index, tag in enumerate(value, start=1)
            if not isinstance(tag, str)
        ]
        if wrong:
            self._fail(name, f"expected an array of strings: {', '.join(wrong)}")
            return ()
        tags = (normalize_text(tag) for tag in value)
        return tuple(dict.fromkeys(tag for tag in tags if tag))

    def _language(self, name: str) -> str:
        language = self._text(name)
        if language and not _LANGUAGE_TAG.match(language):
            self._fail(name, f"expected a language tag such as fr, en or fr-FR, got {language!r}")
        return language


def _unknown_field_message(name: str) -> str:
    close = difflib.get_close_matches(name, ARTICLE_FIELDS, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known fields: {', '.join(ARTICLE_FIELDS)}"
    return f"unknown field; {hint}"
