"""Applying the webhook inbox into the store, on every replica at once.

Each turn claims up to BATCH unapplied rows `FOR UPDATE SKIP LOCKED` (oldest first; rows another
replica holds are skipped, never waited for), parses them with the cloud backend's parser
(backends.cloud.backend.parse_events: what the desk does with its spool), applies their events
with one `apply_each` (the engine's pump: its store-fault rules, then greetings and away
messages), marks the rows applied and commits. A replica killed anywhere in a turn leaves its rows
unapplied and unlocked (its transaction dies with its connection); another replica, or this one
restarted, applies them again, which the store makes harmless: it is idempotent by WhatsApp's ids
and statuses only move forward.

Why not the cloud backend's Inlet protocol: an Inlet hands one process's bodies over in seq order
and is told `done(seq)`, a single consumer's watermark; here any replica takes any rows, in
batches, and "done" is a column set in the claiming transaction.

Woken by NOTIFY on hub.ingest.INBOX_CHANNEL (any replica's ingest), by this replica's own ingest
directly, and every POLL_SECONDS regardless: a lost notification (the listening connection
dropped) delays a body, never loses it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

import psycopg
from psycopg_pool import AsyncConnectionPool

from backends.cloud.backend import parse_events
from desk.clock import Clock
from desk.faults import Backoff
from desk.models import Event, Template
from hub.ingest import INBOX_CHANNEL
from hub.turns import run_turns

log = logging.getLogger(__name__)

BATCH = 64
"""Rows one turn claims: one store transaction and one inbox commit per turn."""
LANES = 2
"""Turns one replica has under way at once: while one turn's events are being applied (the
store's writer thread), the other claims, parses and marks its rows (round trips on the event
loop). Rows are claimed SKIP LOCKED, so the lanes never take the same ones, and applying in any
order is what the store already allows (replicas apply at the same time: it is idempotent by
WhatsApp's ids, statuses only move forward)."""
TEMPLATE_FIELD = b"message_template_status_update"
POLL_SECONDS = 5.0
"""The safety net under the doorbell."""

Apply = Callable[[list[Event]], Awaitable[list[str | None]]]
"""Events into the store, durable when it returns (engine.pump.EventPump.apply_each)."""
Catalogue = Callable[[], Mapping[str, Sequence[Template]]]
"""Each business number's templates as the store has them, for template status webhooks."""


class Applier:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        conninfo: str,
        apply: Apply,
        catalogue: Catalogue,
        clock: Clock,
        *,
        unknown_template: Callable[[], None] = lambda: None,
        batch: int = BATCH,
        lanes: int = LANES,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        """`unknown_template()`: a status webhook named a template the store does not have (the
        template sync fetches the catalogue again)."""
        self._pool = pool
        self._conninfo = conninfo
        self._apply = apply
        self._catalogue = catalogue
        self._clock = clock
        self._unknown_template = unknown_template
        self._batch = batch
        self._lanes = lanes
        self._poll = poll_seconds
        self._bell = asyncio.Event()

    def wake(self) -> None:
        self._bell.set()

    async def run(self) -> None:
        """Until cancelled: apply what is there, then wait for the bell or the poll."""
        listening = asyncio.create_task(self._listen())
        try:
            await run_turns(self._drain, self._bell, self._poll, "applying webhooks")
        finally:
            listening.cancel()

    async def _drain(self) -> None:
        async def lane() -> None:
            while await self.apply_batch():
                pass

        # Each lane runs until the inbox is empty or its own error; then the first error is the turn's.
        ended = await asyncio.gather(*(lane() for _ in range(self._lanes)), return_exceptions=True)
        for outcome in ended:
            if isinstance(outcome, BaseException):
                raise outcome

    async def apply_batch(self) -> int:
        """One turn: the number of inbox rows applied (0: none were free)."""
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "SELECT id, raw FROM webhook_inbox WHERE applied_at IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                (self._batch,),
            )
            rows = await cursor.fetchall()
            if not rows:
                return 0
            now = self._clock.now()
            events: list[Event] = []
            unknown = False
            for row_id, raw in rows:
                body = bytes(raw)
                # The store's catalogue is read only for a body that can hold a template's status.
                catalogue = self._catalogue() if TEMPLATE_FIELD in body else {}
                found, missing = parse_events(row_id, body, now, catalogue)
                events.extend(found)
                unknown = unknown or missing
            if events:
                await self._apply(events)
            await conn.execute(
                "UPDATE webhook_inbox SET applied_at = %s WHERE id = ANY(%s)", (self._clock.now(), [r[0] for r in rows])
            )
        if unknown:
            self._unknown_template()
        return len(rows)

    async def _listen(self) -> None:
        """The doorbell: one connection LISTENing; reconnected with backoff when it drops."""
        backoff = Backoff(first=0.5, most=30.0)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {INBOX_CHANNEL}")
                    backoff.reset()
                    self.wake()  # what was committed while we were not listening
                    async for _ in conn.notifies():
                        self.wake()
            except psycopg.Error as exc:
                log.warning("the webhook doorbell is down (%s); polling every %.0f s meanwhile", exc, self._poll)
            await asyncio.sleep(backoff.next())
