"""Template sync for the hub: one replica at a time fetches the WABA's catalogue ([cloud]
template_sync_minutes) and applies it into the store like any event.

Each replica's timer may fire; the one that takes `pg_try_advisory_xact_lock(TEMPLATE_LOCK)` looks
at when the store last synced (`templates_synced_at`) and fetches only if that is older than the
period, so R replicas still make one fetch a period, not R; the others go on without waiting. The
lock is a transaction's: a replica killed mid-fetch releases it with its connection. A template
status webhook naming a template the store lacks asks for a sync now (`wake()`). Failures retry
as the desk's do (backends.cloud.backend.sync_delay: 30 s, doubling up to the period).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from psycopg_pool import AsyncConnectionPool

from backends.cloud.backend import sync_delay
from desk.clock import Clock
from desk.models import TemplatesChanged
from desk.store import Store
from hub.applier import Apply

log = logging.getLogger(__name__)

TEMPLATE_LOCK = 0x7761_6465_736B_0004
"""The advisory lock of the one replica syncing now (MIGRATE_LOCK's family: 'wadesk' + a number)."""

Fetch = Callable[[], Awaitable[list[TemplatesChanged]]]
"""The WABA's catalogue, one TemplatesChanged per number (CloudBackend.fetch_catalogue)."""


class TemplateSync:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        fetch: Fetch,
        apply: Apply,
        store: Store,
        numbers: Sequence[str],
        clock: Clock,
        every_minutes: int,
    ) -> None:
        self._pool = pool
        self._fetch = fetch
        self._apply = apply
        self._store = store
        self._numbers = list(numbers)
        self._clock = clock
        self._every = timedelta(minutes=every_minutes)
        self._bell = asyncio.Event()
        self._forced = False

    def wake(self) -> None:
        """Sync now, whenever the store last did (a template the catalogue lacks was named)."""
        self._forced = True
        self._bell.set()

    def synced_at(self) -> datetime | None:
        """The oldest of the numbers' syncs: None while one has never been synced."""
        stamps = [self._store.templates_synced_at(n) for n in self._numbers]
        return None if not stamps or None in stamps else min(s for s in stamps if s is not None)

    async def run(self) -> None:
        failures = 0
        while True:
            self._bell.clear()
            forced, self._forced = self._forced, False
            try:
                await self.sync_if_due(force=forced)
                failures = 0
            except Exception as exc:  # noqa: BLE001 - kept in the backend's sync_failure, retried soon
                failures += 1
                log.warning("template sync failed (%d in a row): %s", failures, exc)
            try:
                await asyncio.wait_for(self._bell.wait(), self._next(failures))
            except TimeoutError:
                pass

    def _next(self, failures: int) -> float:
        if failures:
            return sync_delay(failures, self._every.total_seconds())
        synced = self.synced_at()
        if synced is None:
            return sync_delay(1, self._every.total_seconds())  # another replica holds the lock: soon
        return max(1.0, (synced + self._every - self._clock.now()).total_seconds())

    async def sync_if_due(self, *, force: bool = False) -> bool:
        """Fetch and apply the catalogue if no replica did within the period (or `force`) and no
        other replica is at it; True if this one did."""
        async with self._pool.connection() as conn, conn.transaction():
            row = await (await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (TEMPLATE_LOCK,))).fetchone()
            if not row or not row[0]:
                return False
            synced = await asyncio.to_thread(self.synced_at)
            if not force and synced is not None and self._clock.now() - synced < self._every:
                return False
            changes = await self._fetch()
            await self._apply(list(changes))
        log.info("templates synced for %d number(s)", len(changes))
        return True
