"""The ordered event log (docs/team.md): every committed change gets a number in table `events`;
NOTIFY wadesk_events is only the doorbell, every listener (a store's tail, tail.py) reads
`events` by seq.

Numbers come from `event_seq` under `pg_advisory_xact_lock(EVENT_LOCK)`, taken as the last step
of a write's transaction and held to its commit: so seq order is commit order, and a consumer
that has read up to N never meets a change numbered below N committed later. (Taken last, the
lock is held for a few inserts only, and never while waiting for a row lock: no deadlock.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from desk.store.contract import Change, ChangeKind

EVENT_LOCK = 0x7761_6465_736B_0002
"""The event log's advisory lock (transaction-level): one writer numbers its changes at a time."""
CHANNEL = "wadesk_events"
PAGE = 1000
"""Events read per query while catching up."""
DOORBELL_TIMEOUT = 10.0
"""Seconds the tail (tail.py) waits for the doorbell before it reads the log anyway (a safety net:
a change committed by a writer that did not ring still arrives)."""


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
    # One statement for them all (the lock is held until the commit: the shorter the better);
    # nextval runs after the ORDER BY (PostgreSQL evaluates volatile outputs after sorting), so
    # the numbers follow the changes' order.
    rows = conn.execute(
        "INSERT INTO events (seq, kind, conversation_id, business_number_id, agent, committed_at) "
        "SELECT nextval('event_seq'), k, c, b, a, %s "
        "FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[]) WITH ORDINALITY AS u(k, c, b, a, n) ORDER BY n "
        "RETURNING seq",
        (
            at, [c.kind.value for c in changes], [c.conversation_id for c in changes],
            [c.business_number_id for c in changes], [c.agent for c in changes],
        ),
    ).fetchall()
    seqs = sorted(int(row[0]) for row in rows)
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
            # Rung too: every replica's tail lets go of what went at once (a consumer behind it
            # resyncs, as it would reading the table).
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(top)))
    return count


READ = (
    "SELECT seq, kind, conversation_id, business_number_id, agent FROM events "
    "WHERE seq > %s ORDER BY seq LIMIT %s"
)
BOUNDS = "SELECT (SELECT seq FROM event_floor), (SELECT coalesce(max(seq), 0) FROM events)"
"""(the floor: changes up to it may be trimmed, the last change). Read after the rows: a trim
between the two reads shows in the floor."""


@dataclass(frozen=True, slots=True)
class Page:
    """Up to PAGE changes after a number, and the log's bounds as they were just after."""

    changes: list[Change]
    floor: int
    newest: int

    def resyncs(self, after: int) -> bool:
        """A consumer resuming from `after` reads everything again: what followed it is trimmed,
        or it is a number never given."""
        return after < self.floor or after > self.newest


def _page(rows: Sequence[tuple[Any, ...]], bounds: tuple[Any, ...] | None) -> Page:
    assert bounds is not None  # a SELECT of two values
    changes = [
        Change(int(seq), ChangeKind(kind), conversation_id, business_number_id, agent)
        for seq, kind, conversation_id, business_number_id, agent in rows
    ]
    return Page(changes, int(bounds[0]), int(bounds[1]))


def page(conn: psycopg.Connection, after: int) -> Page:
    """The changes after `after` (a consumer catching up from the database, on a pooled connection)."""
    rows = conn.execute(READ, (after, PAGE)).fetchall()
    return _page(rows, conn.execute(BOUNDS).fetchone())


async def page_async(conn: psycopg.AsyncConnection, after: int) -> Page:
    """page() on the tail's own connection (tail.py)."""
    rows = await (await conn.execute(READ, (after, PAGE))).fetchall()
    return _page(rows, await (await conn.execute(BOUNDS)).fetchone())


async def bounds(conn: psycopg.AsyncConnection) -> Page:
    """The log's bounds alone (where a tail begins)."""
    return _page([], await (await conn.execute(BOUNDS)).fetchone())
