"""Who is sending what, across replicas: a store instance that makes a message SENDING claims it
(table `sending`, transaction.py) under its owner id, a row of `store_owners`; the instance is
alive while its own session holds the advisory lock (OWNER_SPACE, id). When the process dies
(SIGKILL, a crash, a lost host) PostgreSQL ends its session and the lock goes with it: then, and
only then, may another instance turn that owner's SENDING messages into UNKNOWN (the request may
have left: never resent on its own). A live replica's send is never touched, whoever opens.
"""

from __future__ import annotations

import psycopg

OWNER_SPACE = 0x7764
"""The first key of the owners' advisory locks (the two-key form: its own space, apart from the
one-key locks of the event log and the migrations)."""


class Owner:
    """This store instance's id and the session that holds its lock."""

    def __init__(self, conninfo: str) -> None:
        self._conn = psycopg.connect(conninfo, autocommit=True, application_name="wadesk-store-owner")
        row = self._conn.execute("INSERT INTO store_owners DEFAULT VALUES RETURNING id").fetchone()
        assert row is not None  # an INSERT ... RETURNING's row
        self.id = int(row[0])
        self._conn.execute("SELECT pg_advisory_lock(%s, %s)", (OWNER_SPACE, self.id))

    def close(self) -> None:
        """Gone cleanly: nothing of ours is SENDING any more that the store could settle."""
        try:
            self._conn.execute("DELETE FROM store_owners WHERE id = %s", (self.id,))
            # Now, not when the server notices the session end: another instance may look at once.
            self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (OWNER_SPACE, self.id))
        except psycopg.Error:
            pass  # the session is gone already: so is the lock, which is what counts
        finally:
            self._conn.close()


def gone(conn: psycopg.Connection, me: int) -> list[int]:
    """The owners that are not alive any more (their lock is free), but for `me`: also one that
    closed cleanly with messages still SENDING (a stop mid-send)."""
    found = []
    owners = conn.execute(
        "SELECT id FROM store_owners WHERE id <> %s UNION SELECT owner FROM sending WHERE owner <> %s ORDER BY 1",
        (me, me),
    ).fetchall()
    for (owner,) in owners:
        with conn.transaction():
            row = conn.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", (OWNER_SPACE, owner)).fetchone()
        if row and row[0]:
            found.append(int(owner))
    return found


def left_sending(conn: psycopg.Connection, owner: int) -> list[tuple[str, str]]:
    """(conversation, message) that `owner` left SENDING."""
    rows = conn.execute(
        "SELECT conversation_id, message_id FROM sending WHERE owner = %s ORDER BY 1, 2", (owner,)
    ).fetchall()
    return [(str(c), str(m)) for c, m in rows]


def forget(conn: psycopg.Connection, owner: int) -> None:
    """An owner that is gone, and whose sends are settled."""
    conn.execute("DELETE FROM store_owners WHERE id = %s", (owner,))
