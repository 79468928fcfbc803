"""The hub's webhook endpoint: the desk's receiver (backends/cloud/receiver.py: the signature over
the raw bytes, 3 MB bodies, the slow-client limits) with PostgreSQL as its spool.

A signed body is committed to `webhook_inbox` under `dedupe_key = sha256(raw)` before the 200,
`ON CONFLICT DO NOTHING`: Meta's exact redeliveries, and one POST given to two replicas at once,
are one row (the unique key decides, whichever replica commits first). The insert rings
INBOX_CHANNEL in the same transaction, so every replica's applier hears of the row once it is
committed (NOTIFY is delivered at commit), never before. A body the database cannot take now gets
a 500: Meta retries it, nothing is lost.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from backends.cloud.receiver import add_webhook_routes
from desk.clock import Clock

INBOX_CHANNEL = "wadesk_inbox"
"""NOTIFY'd with each new inbox row; hub/applier.py listens."""

_INSERT = (
    "WITH kept AS ("
    " INSERT INTO webhook_inbox (dedupe_key, raw, received_at) VALUES (%s, %s, %s)"
    " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id)"
    f" SELECT id, pg_notify('{INBOX_CHANNEL}', '') FROM kept"
)


def dedupe_key(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()


class InboxSpool:
    """The receiver's spool on `webhook_inbox` (backends.cloud.receiver.BodySpool)."""

    def __init__(self, pool: AsyncConnectionPool, clock: Clock) -> None:
        self._pool = pool
        self._clock = clock

    async def append(self, body: bytes) -> int:
        """Commit `body`; its row's id, or 0 when the same body was kept already."""
        async with self._pool.connection() as conn:  # commits on leaving the block, before the 200
            cursor = await conn.execute(_INSERT, (dedupe_key(body), body, self._clock.now()))
            row = await cursor.fetchone()
        return int(row[0]) if row else 0


def add_ingest_routes(
    app: web.Application,
    *,
    path: str,
    app_secret: str,
    verify_token: str,
    pool: AsyncConnectionPool,
    clock: Clock,
    received: Callable[[int, bytes], None] = lambda seq, body: None,
) -> None:
    """The webhook's GET and POST at `path` on the hub's app (whose client_max_size must take
    receiver.MAX_BODY). `received(id, body)` after each commit (id 0: a duplicate), to wake this
    replica's applier without waiting for the notification's round trip."""
    add_webhook_routes(
        app, path=path, app_secret=app_secret, verify_token=verify_token, spool=InboxSpool(pool, clock),
        received=received,
    )
