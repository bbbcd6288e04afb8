"""Engines, sessions, migrations and the after-commit hook.

The caller owns the transaction (``with session.begin():``); DAO functions never commit.
Work for Celery is registered with :func:`on_commit` and published only once the commit
that created its rows has succeeded, so a worker never looks for a row that is not there
and a rolled-back import enqueues nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_AFTER_COMMIT = "newsroom_after_commit"


_ENGINES: dict[str, Engine] = {}


def get_engine(database_url: str) -> Engine:
    """One pooled engine per URL and process."""
    if database_url not in _ENGINES:
        _ENGINES[database_url] = _create_engine(database_url)
    return _ENGINES[database_url]


def _create_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        # libpq waits for ever on a host that drops packets; a task must fail and retry
        # instead (a connect_timeout in DATABASE_URL wins)
        connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": 10}
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    if url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None hands transaction control to the "begin" hook below.
    engine = create_engine(url, connect_args={"isolation_level": None, "timeout": 30})
    # (the driver's timeout is SQLite's busy timeout: wait up to 30 s for a writer)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        # WAL lets the CLI read while a worker writes; foreign keys are off by default.
        cursor.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL loses no committed transaction when a process dies, only on a
        # power cut; FULL would fsync every commit, one a message for the delivery ledger.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection) -> None:  # type: ignore[no-untyped-def]
        # Take the write lock up front: a deferred transaction that upgrades from read to
        # write fails at once with "database is locked" instead of waiting its turn.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@cache
def session_factory(database_url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(database_url), expire_on_commit=False)


def on_commit(session: Session, callback: Callable[[], object]) -> None:
    """Run ``callback`` after the session's current transaction commits; drop it on rollback."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released; the real commit is still to come
    for callback in session.info.pop(_AFTER_COMMIT, []):
        try:
            callback()
        except Exception:
            # The rows are committed; the outbox sweeper re-dispatches what was not published.
            log.exception("after-commit callback %r failed", callback)


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # only a savepoint was rolled back: what the transaction still holds stands
    session.info.pop(_AFTER_COMMIT, None)


def dispose_engines() -> None:
    """Forget pooled connections inherited through fork (Celery's prefork children): a
    socket shared by two processes corrupts both conversations with the database."""
    for engine in _ENGINES.values():
        engine.dispose(close=False)


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (``newsroom db upgrade``)."""
    engine = _migration_engine(database_url)
    try:
        with engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS_DIR))
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            if engine.dialect.name == "sqlite":
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left dangling foreign keys: {broken[:5]}")
    finally:
        engine.dispose()


def _migration_engine(database_url: str) -> Engine:
    """SQLite alters a table by copying it and dropping the original; with foreign keys on,
    that drop would cascade and delete the rows that point at it (every delivery of every
    digest). Migrations therefore run on their own connection with foreign keys off, and
    check them once done."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, poolclass=NullPool)
    if url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _foreign_keys_off(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.execute("PRAGMA foreign_keys=OFF")

    return engine
