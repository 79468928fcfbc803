"""`wadesk hub migrate`'s core: the package's schema steps applied in order, once each; a database
migrated by newer code is refused (a real PostgreSQL: tests/postgres_fixtures.py)."""

from __future__ import annotations

import psycopg
import pytest

from desk.store.pg import migrate


def test_migrating_applies_every_step_once(pg_url: str) -> None:
    first = migrate.migrate(pg_url)
    assert first == [s.name for s in migrate.steps()]
    assert migrate.migrate(pg_url) == []
    with psycopg.connect(pg_url) as conn:
        assert migrate.database_version(conn) == migrate.code_version()
        migrate.check(conn)


def test_a_database_never_migrated_is_refused_with_what_to_run(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn, pytest.raises(RuntimeError, match="wadesk hub migrate"):
        migrate.check(conn)


def test_a_newer_schema_is_refused_by_older_code(pg_url: str) -> None:
    migrate.migrate(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_version (version, name) VALUES (%s, 'from_the_future.sql')", (migrate.code_version() + 1,))
        with pytest.raises(migrate.SchemaTooNew, match="upgrade wadesk"):
            migrate.check(conn)
    with pytest.raises(migrate.SchemaTooNew):
        migrate.migrate(pg_url)
