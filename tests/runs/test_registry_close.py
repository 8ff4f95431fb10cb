"""close_registries returns a registry's pooled connections (both pools) to a real PostgreSQL server."""

from __future__ import annotations

import time

import psycopg
import pytest

from mlnb.store import _engine
from tests._postgres import create_database


def _connections(server: str, database: str, settle: int | None = None) -> int:
    """Connections to ``database`` the server lists; with ``settle``, polled until that many (a
    closed connection's server process leaves the list a moment after the client has gone), or
    what is listed after 10 s."""
    host, port = server.split("@", 1)[1].split(":")
    with psycopg.connect(host=host, port=int(port), user="postgres", dbname="postgres", autocommit=True) as conn:
        for _ in range(200):
            n = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)).fetchone()[0]
            if settle is None or n == settle:
                return n
            time.sleep(0.05)
        return n


@pytest.mark.postgres
def test_closing_a_registry_returns_its_connections_and_it_opens_again(postgres_server):
    url = create_database(postgres_server)
    name = url.rsplit("/", 1)[1]
    reg = _engine._registries[url] = _engine.Registry(url)
    with reg.write():
        pass
    before = reg.revision()  # the one-statement pool: a second connection
    assert _connections(postgres_server, name) == 2
    assert _engine.close_registries(url) == 1
    assert _connections(postgres_server, name, settle=0) == 0
    assert url not in _engine._registries
    again = _engine._registries[url] = _engine.Registry(url)
    assert again.revision() == before  # nothing was lost by closing
    assert _engine.close_registries(url) == 1 and _connections(postgres_server, name, settle=0) == 0
