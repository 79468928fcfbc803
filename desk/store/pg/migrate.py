"""The schema, versioned in the package: `schema/NNNN_<what>.sql`, applied in order of their numbers, each once
(numbers are unique, not necessarily contiguous),
by `wadesk hub migrate` (and by the tests). Applying is idempotent: a second run finds every
version recorded and does nothing. A database whose schema is newer than this code is refused:
old code writing a newer schema's tables could break what the newer code relies on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg

MIGRATE_LOCK = 0x7761_6465_736B_0001
"""Advisory lock held while migrating: two replicas started at once migrate one after the other."""

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class SchemaTooNew(Exception):
    """The database was migrated by newer code than this."""


@dataclass(frozen=True)
class Step:
    version: int
    name: str
    sql: str


def steps() -> list[Step]:
    """The package's schema steps, in order."""
    found = []
    for entry in resources.files("desk.store.pg.schema").iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Step(int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda s: s.version)
    if len({s.version for s in found}) != len(found):
        raise RuntimeError(f"two schema steps share a number: {[s.name for s in found]}")
    return found


def code_version() -> int:
    return max((s.version for s in steps()), default=0)


def database_version(conn: psycopg.Connection) -> int:
    """0 for a database never migrated."""
    exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def check(conn: psycopg.Connection) -> None:
    """Refuse a database this code cannot serve: never migrated, behind, or ahead."""
    have, want = database_version(conn), code_version()
    done = {int(v) for (v,) in conn.execute("SELECT version FROM schema_version")} if have else set()
    if have > want:
        raise SchemaTooNew(
            f"The database's schema is version {have}, newer than this wadesk's ({want}): upgrade wadesk."
        )
    if have < want or done != {s.version for s in steps()}:
        raise RuntimeError(f"The database's schema is version {have}, this wadesk needs {want}: run `wadesk hub migrate`.")


def migrate(conninfo: str) -> list[str]:
    """Apply the steps the database lacks, each in its own transaction; returns their names."""
    applied: list[str] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            have, all_steps = database_version(conn), steps()
            if have > code_version():
                raise SchemaTooNew(
                    f"The database's schema is version {have}, newer than this wadesk's ({code_version()}): "
                    "upgrade wadesk before migrating."
                )
            done = {int(v) for (v,) in conn.execute("SELECT version FROM schema_version")}
            for step in (s for s in all_steps if s.version not in done):
                with conn.transaction():
                    conn.execute(step.sql.encode())
                    conn.execute("INSERT INTO schema_version (version, name) VALUES (%s, %s)", (step.version, step.name))
                applied.append(step.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK,))
    return applied
