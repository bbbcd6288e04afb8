"""CSV import of subscribers: read and check the whole file first, then store it in bulk.

Reading is a pure function of the file's bytes. The file must be UTF-8 (with or without
the byte order mark Excel writes): guessing another encoding from the bytes alone cannot
tell Latin-1 from Windows-1252 or MacRoman, and a wrong guess would store every accented
name garbled, silently. The editor is told where the first bad byte is instead.

Storing goes a thousand lines at a time: three queries find the addresses already known,
their subscriptions and the suppression list, then three statements insert the
subscribers, subscriptions and consent records. An address that left, bounced, complained
or was erased is never brought back by an import.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from worker.store import ConsentSource, SubscriptionStatus, address_hash, subscribers
from worker.subscribers._addresses import InvalidAddress, normalize_address
from worker.subscribers._flows import RECEIVING, InvalidField, clean_language, clean_name

if TYPE_CHECKING:
    from _csv import _reader

COLUMNS = ("email", "name", "language")
CHUNK = 1000
DELIMITERS = ",;\t"  # a French Excel writes semicolons


class UnreadableFile(ValueError):
    """A file that cannot be imported at all (encoding, header): nothing is stored."""


@dataclass(frozen=True)
class Row:
    line: int
    email: str
    name: str = ""
    language: str = ""


@dataclass
class ParsedFile:
    rows: list[Row] = field(default_factory=list)
    # (line, reason), and (line, line of its first occurrence)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    duplicates: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class ImportOutcome:
    imported: list[int] = field(default_factory=list)  # subscriber ids, now subscribed
    already: int = 0  # pending or confirmed already: left as they are
    suppressed: int = 0  # left, bounced, complained or erased: not imported


def parse_csv(data: bytes, *, check_deliverability: bool = False) -> ParsedFile:
    """Rows with a header naming its columns (email required; name, language optional).
    Lines that cannot be imported are listed with their reason, and repeated addresses
    with the line where each first appeared."""
    lines = csv.reader(
        io.StringIO(_decode(data), newline=""), delimiter=_delimiter(data), strict=True
    )
    header, header_line = _header(lines)
    parsed = ParsedFile()
    first_seen: dict[str, int] = {}
    line = header_line
    while True:
        start = line + 1
        try:
            fields = next(lines)
        except StopIteration:
            break
        except csv.Error as exc:
            parsed.rejected.append((start, f"not valid CSV: {exc}"))
            line = lines.line_num
            continue
        line = lines.line_num
        if not any(value.strip() for value in fields):
            continue  # blank line
        if len(fields) != len(header):
            parsed.rejected.append((start, f"{len(fields)} fields, the header has {len(header)}"))
            continue
        try:
            row = _row(start, dict(zip(header, fields, strict=True)), check_deliverability)
        except (InvalidAddress, InvalidField) as exc:
            parsed.rejected.append((start, str(exc)))
            continue
        if row.email in first_seen:
            parsed.duplicates.append((start, first_seen[row.email]))
            continue
        first_seen[row.email] = start
        parsed.rows.append(row)
    return parsed


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFile("the file is UTF-16; save it as CSV UTF-8")
    try:
        return data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start + (len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0)
        line = data.count(b"\n", 0, offset) + 1
        raise UnreadableFile(
            f"not UTF-8: byte 0x{data[offset]:02X} at offset {offset} (line {line}); "
            "save the file as CSV UTF-8 (or convert it, e.g. iconv -f latin1 -t utf-8)"
        ) from None


def _delimiter(data: bytes) -> str:
    """The header line's most frequent separator: a comma, unless it has more semicolons
    or tabs."""
    first_line = data.split(b"\n", 1)[0]
    return max(DELIMITERS, key=lambda d: (first_line.count(d.encode()), d == ","))


def _header(lines: _reader) -> tuple[list[str], int]:
    for fields in lines:
        if any(value.strip() for value in fields):
            break
    else:
        raise UnreadableFile("the file is empty: expected a header line such as email,name")
    header = [value.strip().lower() for value in fields]
    where = f"line {lines.line_num}"
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise UnreadableFile(
            f"{where}: unknown column {unknown[0]!r} (the columns are {', '.join(COLUMNS)})"
        )
    if "email" not in header:
        raise UnreadableFile(f"{where}: no 'email' column (the header is {','.join(header)})")
    repeated = {name for name in header if header.count(name) > 1}
    if repeated:
        raise UnreadableFile(f"{where}: column {sorted(repeated)[0]!r} appears twice")
    return header, lines.line_num


def _row(line: int, values: dict[str, str], check_deliverability: bool) -> Row:
    return Row(
        line=line,
        email=normalize_address(values["email"], check_deliverability=check_deliverability),
        name=clean_name(values.get("name", "")),
        language=clean_language(values.get("language", "")),
    )


def import_rows(
    session: Session,
    rows: Sequence[Row],
    newsletter_id: int,
    *,
    confirmed: bool,
    detail: str,
) -> ImportOutcome:
    """Subscribe ``rows`` (checked, without repeats) to the newsletter, pending or
    confirmed, each with a consent record (source import, ``detail``). Known addresses
    keep their name and language; those subscribed already are left as they are."""
    outcome = ImportOutcome()
    status = SubscriptionStatus.CONFIRMED if confirmed else SubscriptionStatus.PENDING
    consent = {
        "source": ConsentSource.IMPORT,
        "detail": detail,
        "ip": None,
        "text_version": "",
    }
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        hashes = {row.email: address_hash(row.email) for row in chunk}
        suppressed = subscribers.suppressed_hashes(session, list(hashes.values()), newsletter_id)
        known = subscribers.ids_by_email(session, list(hashes))
        current = subscribers.statuses(session, newsletter_id, list(known.values()))
        new, to_subscribe = [], []
        for row in chunk:
            subscriber_id = known.get(row.email)
            existing = current.get(subscriber_id) if subscriber_id else None
            gone = existing is not None and existing not in RECEIVING  # left, bounced...
            if hashes[row.email] in suppressed or gone:
                outcome.suppressed += 1
            elif existing is not None:
                outcome.already += 1
            elif subscriber_id is not None:
                to_subscribe.append(subscriber_id)
            else:
                new.append(
                    {
                        "email": row.email,
                        "email_hash": hashes[row.email],
                        "name": row.name,
                        "language": row.language,
                    }
                )
        to_subscribe += subscribers.insert_subscribers(session, new).values()
        subscribers.insert_subscriptions(
            session, newsletter_id, to_subscribe, status, consent=consent
        )
        outcome.imported += to_subscribe
    return outcome
