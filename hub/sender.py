"""The outbox across replicas: each message the agents queue is sent by exactly one replica, once.

The API records a message QUEUED in the store (its idempotency key is the message's id, so the
same request again records nothing new) and calls `wake()`. The sender then lists the store's
QUEUED messages into `hub_outbox` (`ON CONFLICT DO NOTHING`: one row per message, whoever lists it)
and claims rows `FOR UPDATE SKIP LOCKED`, holding the row's lock for the whole send, through the
engine's `Outbox.deliver` (engine/outbox.py), so its honesty rules hold: SENDING is committed in
the store before the request leaves; an answer is SENT or FAILED; no answer is UNKNOWN, never
resent.

What a claimer finds in the store says what happened before it:
- QUEUED: nothing left (a claimer that died before SENDING was committed): send it.
- SENDING: a claimer died after it marked the send, so the request may have left: UNKNOWN, never
  resent blindly (its lock is free only because its connection died with it; a live sender's row
  stays locked and is skipped).
- anything else: settled already (a claimer that died before marking the row done): nothing sent.

One conversation's messages leave in the order they were queued: a row is claimable only when no
older row of its conversation is still undone (it waits while another replica sends that one).
A replica resumes at start what was QUEUED, its own or a dead replica's: the first turn lists them.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg
from psycopg_pool import AsyncConnectionPool

from desk.clock import Clock
from desk.faults import Backoff
from desk.models import Message, MessageStatus
from desk.store import Store
from engine.outbox import NO_LONGER_APPROVED, Outbox
from hub.files import SharedFiles

log = logging.getLogger(__name__)

WORKERS = 4
"""Sends one replica has in flight at once (each holds a pooled connection while it waits)."""
POLL_SECONDS = 5.0
"""The safety net under `wake()`: a message queued through another replica, or before a restart."""
INTERRUPTED = "The hub stopped while sending this: it may or may not have been sent."

_CLAIM = """
SELECT h.conversation_id, h.message_id FROM hub_outbox h
WHERE h.done_at IS NULL AND NOT EXISTS (
    SELECT 1 FROM hub_outbox o
    WHERE o.conversation_id = h.conversation_id AND o.done_at IS NULL
      AND (o.queued_at, o.message_id) < (h.queued_at, h.message_id))
ORDER BY h.queued_at, h.message_id
LIMIT 1 FOR UPDATE SKIP LOCKED
"""


class Sender:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        outbox: Outbox,
        clock: Clock,
        *,
        workers: int = WORKERS,
        poll_seconds: float = POLL_SECONDS,
        files: SharedFiles | None = None,
    ) -> None:
        self._pool = pool
        self._files = files
        self._outbox = outbox
        self._store: Store = outbox.writer.store
        self._clock = clock
        self._workers = workers
        self._poll = poll_seconds
        self._bell = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Something was queued: look now (the API calls it after recording a send)."""
        self._bell.set()

    def stop(self) -> None:
        """Claim nothing more; `run()` returns once the sends under way have settled."""
        self._stopping = True
        self._bell.set()

    async def run(self) -> None:
        """Until cancelled: list what is queued, send it, then wait for `wake()` or the poll."""
        backoff = Backoff(first=0.5, most=30.0)
        while not self._stopping:
            self._bell.clear()
            try:
                await self.turn()
                backoff.reset()
            except psycopg.Error as exc:  # the database went away: the rows wait for us
                log.warning("sending paused: %s", exc)
                await asyncio.sleep(backoff.next())
                continue
            try:
                await asyncio.wait_for(self._bell.wait(), self._poll)
            except TimeoutError:
                pass

    async def turn(self) -> int:
        """List the store's queued messages, then send until no row is free; the number sent."""
        await self.list_queued()
        counts = await asyncio.gather(*(self._drain() for _ in range(self._workers)))
        return sum(counts)

    async def list_queued(self) -> None:
        queued = await self._outbox.writer.queued()
        if not queued:
            return
        async with self._pool.connection() as conn:
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO hub_outbox (conversation_id, message_id, queued_at) VALUES (%s, %s, %s)"
                    " ON CONFLICT DO NOTHING",
                    [(m.conversation_id, m.id, m.timestamp) for m in queued],
                )

    async def _drain(self) -> int:
        sent = 0
        while not self._stopping and await self.send_one():
            sent += 1
        return sent

    async def send_one(self) -> bool:
        """Claim one free row and settle its message; False when no row is free."""
        async with self._pool.connection() as conn, conn.transaction():
            row = await (await conn.execute(_CLAIM)).fetchone()
            if row is None:
                return False
            conversation_id, message_id = row
            await self._settle(conversation_id, message_id)
            await conn.execute(
                "UPDATE hub_outbox SET done_at = %s WHERE conversation_id = %s AND message_id = %s",
                (self._clock.now(), conversation_id, message_id),
            )
        return True

    async def _settle(self, conversation_id: str, message_id: str) -> None:
        # Read under the row's lock, from the store as it is now (any thread may read).
        conversation = await asyncio.to_thread(self._store.conversation, conversation_id)
        messages = await asyncio.to_thread(self._store.messages, conversation_id)
        message = next((m for m in messages if m.id == message_id), None)
        if conversation is None or message is None:
            log.warning("outbox: %s in %s is not in the store; nothing sent", message_id, conversation_id)
            return
        if message.status is MessageStatus.SENDING:
            log.warning("outbox: %s was being sent by a hub that stopped: unknown, not resent", message_id)
            await self._set(message, MessageStatus.UNKNOWN, INTERRUPTED)
            return
        if message.status is not MessageStatus.QUEUED:
            return
        choice = None
        if message.type == "template":
            choice = self._outbox.template_choice(conversation, message)
            if choice is None:
                await self._set(message, MessageStatus.FAILED, NO_LONGER_APPROVED)
                return
        if self._files is not None:
            message = await self._files.local(message)  # posted to another replica: its copy here
        result = await self._outbox.deliver(conversation, message, choice)
        if result.status is not MessageStatus.SENT:
            log.info("outbox: %s %s: %s", message_id, result.status.value, result.error_text)

    async def _set(self, message: Message, status: MessageStatus, sentence: str) -> None:
        await self._outbox.writer.update_outgoing(
            message.conversation_id, message.id, status, at=self._clock.now(), error_text=sentence
        )
