"""The hub's webhook endpoint: the desk's receiver (backends/cloud/receiver.py: the signature over
the raw bytes, 3 MB bodies, the slow-client limits) with PostgreSQL as its spool.

A signed body is committed to `webhook_inbox` under `dedupe_key = sha256(raw)` before the 200,
`ON CONFLICT DO NOTHING`: Meta's exact redeliveries, and one POST given to two replicas at once,
are one row (the unique key decides, whichever replica commits first). The insert rings
INBOX_CHANNEL in the same transaction, so every replica's applier hears of the row once it is
committed (NOTIFY is delivered at commit), never before. A body the database cannot take now gets
a 500: Meta retries it, nothing is lost.

Group commit: the bodies that arrive while a commit is under way wait for the next one, which
takes them all (at most GROUP) in one INSERT and one commit. Each still gets its 200 only once its
own row is committed; a busy replica pays one commit (one WAL flush) per group instead of one per
body, which is what held ingest near 300 a second (docs/performance.md, issue 9).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable

import psycopg
from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from backends.cloud.receiver import add_webhook_routes
from desk.clock import Clock

INBOX_CHANNEL = "wadesk_inbox"
"""NOTIFY'd with each new inbox row; hub/applier.py listens."""

GROUP = 256
"""Bodies one commit takes at most (a few hundred KB of parameters)."""
_INSERT = (
    "INSERT INTO webhook_inbox (dedupe_key, raw, received_at)"
    " SELECT k, r, %s FROM unnest(%b::bytea[], %b::bytea[]) WITH ORDINALITY AS u(k, r, n) ORDER BY n"
    " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key"
)


def dedupe_key(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()


class InboxSpool:
    """The receiver's spool on `webhook_inbox` (backends.cloud.receiver.BodySpool), committing
    what arrives together in one transaction (group commit, above)."""

    def __init__(self, pool: AsyncConnectionPool, clock: Clock) -> None:
        self._pool = pool
        self._clock = clock
        self._waiting: list[tuple[bytes, asyncio.Future[int]]] = []
        self._committing: asyncio.Task[None] | None = None

    async def append(self, body: bytes) -> int:
        """Commit `body`; its row's id, or 0 when the same body was kept already."""
        kept: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((body, kept))
        if self._committing is None:
            self._committing = asyncio.create_task(self._commit_all())
        return await kept

    async def _commit_all(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting[:GROUP], self._waiting[GROUP:]
                try:
                    ids = await self._commit([body for body, _ in group])
                except (psycopg.Error, OSError) as exc:  # every body of the group gets its 500 (Meta retries)
                    _fail(group, exc)
                    continue
                except BaseException as exc:  # stopping, or a bug: nobody waits for a commit that will not come
                    _fail(group + self._waiting, exc if isinstance(exc, Exception) else ConnectionError("the hub is stopping"))
                    self._waiting = []
                    raise
                for (_, kept), row_id in zip(group, ids, strict=True):
                    if not kept.done():  # its request may have been cancelled: the row stays
                        kept.set_result(row_id)
        finally:
            self._committing = None

    async def _commit(self, bodies: list[bytes]) -> list[int]:
        """One transaction: the rows' ids in `bodies`' order (0: kept already, here or before)."""
        keys = [dedupe_key(body) for body in bodies]
        async with self._pool.connection() as conn:  # commits on leaving the block, before the 200s
            cursor = await conn.execute(_INSERT, (self._clock.now(), keys, bodies))
            new = {bytes(key): int(row_id) for row_id, key in await cursor.fetchall()}
            if new:
                await conn.execute("SELECT pg_notify(%s, '')", (INBOX_CHANNEL,))
        return [new.pop(key, 0) for key in keys]  # a body twice in the group: the first has the row


def _fail(group: list[tuple[bytes, asyncio.Future[int]]], exc: Exception) -> None:
    for _, kept in group:
        if not kept.done():
            kept.set_exception(exc)


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
