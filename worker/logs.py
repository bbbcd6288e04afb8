"""Logging for every newsroom process: plain lines for a terminal, JSON lines for a log
pipeline (LOG_FORMAT=json). Each line carries the digest, batch or post it concerns (set
per task, see celery_app), and no line carries a full email address or a signed link's
token (an unsubscribe or preferences link works for whoever holds it): they are redacted on
the way out, whoever logged them (uvicorn's access log and tracebacks included), so
neither reaches a log store."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

from pythonjsonlogger.json import JsonFormatter

_context: ContextVar[dict[str, object]] = ContextVar("newsroom_log_context", default={})  # noqa: B039
# any local part and a domain with a dot, internationalized ones included; @ or, in a URL, %40
_ADDRESS = re.compile(r"([\w.%+-])[\w.%+-]*(@|%40)([\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,})")
# itsdangerous: dot-separated parts ending in a signature of 27 or more base64url characters,
# mixed case (which keeps long dotted lowercase names such as Celery task names)
_TOKEN = re.compile(r"(?<![\w.-])[\w-]+(?:\.[\w-]+)*\.(?=[\w-]*[A-Z])(?=[\w-]*[a-z])[\w-]{27,}")


@contextmanager
def log_context(**ids: object) -> Iterator[None]:
    """Tag every line logged inside with these ids (digest_id=12, post_id=7...)."""
    token = bind(**ids)
    try:
        yield
    finally:
        unbind(token)


def bind(**ids: object) -> Token[dict[str, object]]:
    """As log_context, for code that starts and ends in different calls (Celery signals)."""
    return _context.set({**_context.get(), **ids})


def unbind(token: Token[dict[str, object]]) -> None:
    _context.reset(token)


def redact(text: str) -> str:
    """camille@example.org -> c***@example.org (enough to tell domains apart, no more), and
    a signed token -> <token>."""
    return _TOKEN.sub("<token>", _ADDRESS.sub(r"\1***\2\3", text))


class _Context(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info:  # formatted here, redacted, and shown by either formatter
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        ids = _context.get()
        for key, value in ids.items():
            setattr(record, key, value)
        record.context = "".join(f" [{key}={value}]" for key, value in ids.items())
        return True


def configure(level: str = "WARNING", form: str = "text") -> None:
    """Set up the root logger once per process (the CLI's entry point calls this)."""
    handler = logging.StreamHandler()
    if form == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                reserved_attrs=[*JsonFormatter().reserved_attrs, "context"],
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s")
        )
    handler.addFilter(_Context())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
