"""worker/store/_db.py: the engines, on the real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from worker.store import get_engine


def connect_timeout(url: str) -> str | None:
    with get_engine(url).connect() as connection:
        return connection.connection.dbapi_connection.info.get_parameters().get("connect_timeout")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_postgresql_connection_gives_up_after_ten_seconds_unless_the_url_says(
    database_url: str,
) -> None:
    # libpq's own default is to wait for ever on a host that drops packets
    assert connect_timeout(database_url) == "10"
    own = make_url(database_url).update_query_dict({"connect_timeout": "3"})
    assert connect_timeout(own.render_as_string(hide_password=False)) == "3"
