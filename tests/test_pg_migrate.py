"""`wadesk hub migrate`'s core: the package's schema steps applied in order, once each; a database
migrated by newer code is refused (a real PostgreSQL: tests/postgres_fixtures.py)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

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


def _migrated_to(pg_url: str, version: int) -> None:
    """The database as code of schema `version` left it."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_version (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for step in (s for s in migrate.steps() if s.version <= version):
            conn.execute(step.sql.encode())
            conn.execute("INSERT INTO schema_version (version, name) VALUES (%s, %s)", (step.version, step.name))


def test_the_search_words_of_a_version_5_database_are_found_after_migrating(pg_url: str) -> None:
    """0006 turns the row-per-word index into one tsvector per text: what was indexed before the
    upgrade is found after it, by the store's own search."""
    from desk.store.pg.store import PgStore

    _migrated_to(pg_url, 5)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO conversations (id, summary) VALUES ('c1', '[]')")
        conn.execute("INSERT INTO search_texts VALUES ('c1', 'm1', 1.0, 'Parcel for Γιώργος'), ('c1', 'm2', 2.0, 'a b')")
        conn.execute(
            "INSERT INTO search_words VALUES ('parcel', 'c1', 'm1'), ('for', 'c1', 'm1'), ('γιωργοσ', 'c1', 'm1'), "
            "('a', 'c1', 'm2'), ('b', 'c1', 'm2')"
        )
    assert migrate.migrate(pg_url) == [s.name for s in migrate.steps() if s.version > 5]
    with PgStore(pg_url) as store:
        assert [h.message_id for h in store.search("parc γιωργ")] == ["m1"]
        assert [h.message_id for h in store.search("a")] == ["m2"]
        assert store.search("pa rcel") == []


def test_the_jsonb_documents_of_a_version_6_database_are_read_after_migrating(pg_url: str, pg_server) -> None:
    """0007 stores documents as bytes: a conversation written as jsonb before is the same after."""
    from desk.store.pg.store import PgStore
    from tests.store_contract.builders import cid, inbound, send

    first = pg_url
    migrate.migrate(first)
    with PgStore(first) as store:
        store.apply(inbound("m1", 1, "Parcel?"))
        send(store, "o1", 2, "wamid.o1")
        before = (store.conversation(cid()), store.messages(cid()), store.audit(cid()))
        with psycopg.connect(first) as conn:
            row = conn.execute(
                "SELECT id, convert_from(document, 'UTF8'), summary, waiting, in_flight, business_number_id, customer_id "
                "FROM conversations"
            ).fetchone()
    assert row is not None
    old = pg_server.database()
    _migrated_to(old, 6)
    with psycopg.connect(old, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO conversations VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s)",
            (row[0], row[5], row[6], row[1], Jsonb(row[2]), row[3], row[4]),
        )
    assert migrate.migrate(old) == [s.name for s in migrate.steps() if s.version > 6]
    with PgStore(old) as store:
        assert (store.conversation(cid()), store.messages(cid()), store.audit(cid())) == before
