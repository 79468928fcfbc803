"""The ordered event log (docs/team.md): every committed change gets a number in table `events`;
NOTIFY wadesk_events is only the doorbell, every listener reads `events` by seq.

Numbers come from `event_seq` under `pg_advisory_xact_lock(EVENT_LOCK)`, taken as the last step
of a write's transaction and held to its commit: so seq order is commit order, and a consumer
that has read up to N never meets a change numbered below N committed later. (Taken last, the
lock is held for a few inserts only, and never while waiting for a row lock: no deadlock.)
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg

from desk.store.contract import Change, ChangeKind

log = logging.getLogger(__name__)

EVENT_LOCK = 0x7761_6465_736B_0002
"""The event log's advisory lock (transaction-level): one writer numbers its changes at a time."""
CHANNEL = "wadesk_events"
PAGE = 1000
"""Events read per query while catching up."""
DOORBELL_TIMEOUT = 10.0
"""Seconds a consumer waits for the doorbell before it reads the log anyway (a safety net: a
change committed by a writer that did not ring still arrives)."""


@dataclass(frozen=True, slots=True)
class Pending:
    """A change a transaction will announce when it commits."""

    kind: ChangeKind
    conversation_id: str | None = None
    business_number_id: str | None = None
    agent: str | None = None


def append(conn: psycopg.Connection, changes: Sequence[Pending], at: datetime) -> list[int]:
    """Number `changes` and put them in the log, in the caller's transaction, as its last step,
    stamped `at` (the store's clock: what trim compares); rings the doorbell at commit. Returns
    their seqs."""
    if not changes:
        return []
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (EVENT_LOCK,))
    seqs = []
    with conn.cursor() as cur:
        for change in changes:
            cur.execute(
                "INSERT INTO events (seq, kind, conversation_id, business_number_id, agent, committed_at) "
                "VALUES (nextval('event_seq'), %s, %s, %s, %s, %s) RETURNING seq",
                (change.kind.value, change.conversation_id, change.business_number_id, change.agent, at),
            )
            row = cur.fetchone()
            assert row is not None  # an INSERT ... RETURNING's row
            seqs.append(int(row[0]))
    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(seqs[-1])))
    return seqs


def last(conn: psycopg.Connection) -> int:
    """The latest committed change's number (0: none yet)."""
    row = conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()
    return int(row[0]) if row else 0


def trim(conn: psycopg.Connection, before: datetime) -> int:
    """Delete the events committed before `before` (the hub's [hub] keep_events_hours), keeping the
    newest one whatever its age (it is where a consumer starts); returns how many went. A consumer
    resuming from before what is kept gets a RESYNC."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (EVENT_LOCK,))
        row = conn.execute(
            "WITH gone AS (DELETE FROM events WHERE committed_at < %s AND seq < (SELECT max(seq) FROM events) "
            "RETURNING seq) SELECT count(*), max(seq) FROM gone",
            (before,),
        ).fetchone()
        count, top = (int(row[0]), row[1]) if row else (0, None)
        if top is not None:
            conn.execute("UPDATE event_floor SET seq = greatest(seq, %s)", (top,))
    return count


async def _bounds(conn: psycopg.AsyncConnection) -> tuple[int, int]:
    """(the floor: changes up to it may be trimmed, the last change)."""
    cur = await conn.execute("SELECT (SELECT seq FROM event_floor), (SELECT coalesce(max(seq), 0) FROM events)")
    row = await cur.fetchone()
    assert row is not None  # a SELECT of two values
    return int(row[0]), int(row[1])


async def follow(conninfo: str, after: int) -> AsyncIterator[Change]:
    """Every change after `after`, in order, then each one as it commits, by any writer on this
    database; one RESYNC first when `after` is older than what is kept or newer than the last."""
    conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True, application_name="wadesk-changes")
    try:
        # Listening before the first read: a commit after it rings, one before it is read.
        await conn.execute(f"LISTEN {CHANNEL}")
        while True:
            cur = await conn.execute(
                "SELECT seq, kind, conversation_id, business_number_id, agent FROM events "
                "WHERE seq > %s ORDER BY seq LIMIT %s",
                (after, PAGE),
            )
            rows = await cur.fetchall()
            # The bounds after the rows: a trim between the two reads shows in the floor.
            floor, newest = await _bounds(conn)
            if after < floor or after > newest:
                after = newest
                yield Change(after, ChangeKind.RESYNC)
                continue
            for seq, kind, conversation_id, business_number_id, agent in rows:
                after = int(seq)
                yield Change(after, ChangeKind(kind), conversation_id, business_number_id, agent)
            if len(rows) < PAGE:
                # One that rang during the reads counts: psycopg keeps it for notifies().
                async for _ in conn.notifies(timeout=DOORBELL_TIMEOUT, stop_after=1):
                    pass
    finally:
        await conn.close()

