"""Fixtures for team mode's tests: `pg_server` (one real PostgreSQL for the whole run) and
`pg_url` (a fresh database on it for one test). Registered in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.postgres_server import Server, find_pg_ctl, running_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    if find_pg_ctl() is None:
        pytest.skip("team mode: no PostgreSQL binaries (pg_ctl, initdb) on this machine")
    with running_server() as conninfo:
        yield Server(conninfo)


@pytest.fixture
def pg_url(pg_server: Server) -> str:
    """A new, empty database for this test: its conninfo."""
    return pg_server.database()
