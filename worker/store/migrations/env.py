"""Alembic environment: migrations run on the connection handed over by ``store.upgrade``."""

from typing import Any

from alembic import context

from worker.store._models import Base, UTCDateTime


def render_item(kind: str, value: Any, _context: Any) -> str | bool:
    # Migrations name plain SQLAlchemy types, so they never import the models they predate.
    if kind == "type" and isinstance(value, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite alters tables by copying them
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
