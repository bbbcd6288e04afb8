"""Logging for every newsroom process: plain lines for a terminal, JSON lines for a log
pipeline (LOG_FORMAT=json). Each line carries the digest, batch or post it concerns (set
per task, see celery_app), and no line carries a full email address: they are masked on
the way out, whoever logged them, so a subscriber's address never reaches a log store."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

from pythonjsonlogger.json import JsonFormatter

_context: ContextVar[dict[str, object]] = ContextVar("newsroom_log_context", default={})  # noqa: B039
# any local part and a domain with a dot, internationalized ones included
_ADDRESS = re.compile(r"([\w.%+-])[\w.%+-]*@([\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,})")


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


def mask_addresses(text: str) -> str:
    """camille@example.org -> c***@example.org: enough to tell domains apart, no more."""
    return _ADDRESS.sub(r"\1***@\2", text)


class _Context(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask_addresses(record.getMessage()), None
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
