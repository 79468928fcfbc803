"""The event pump: backend events into the store, for the desk and `wadesk serve` alike.

The store announces what changed (`Store.changes()`); the pump only gets events in, under the
rules for store faults, which have their one home here:

- An event is handed on only once it is durable: `apply()` returns when the store has journaled it
  (its conversation's file may still wait: the store holds it and `retry()` writes it). While
  nothing can be made durable (StoreUnavailable: the journal's disk is full) it waits and tries
  again with backoff, so the backend never marks the webhook body done and the rest of the body
  waits with it.
- `retry_forever()` has the store write what it keeps for later every few seconds, and retries
  what it holds (a file that could not be written or read) with backoff, so a backlog applies once
  space is back, without a restart.
- Each new fault is told once (`tell(sentence)`): the desk notifies the agent, serve logs it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from backends.base import Backend
from desk.faults import Backoff, FaultLog
from desk.models import Event
from desk.store import StoreUnavailable
from desk.text import flatten
from engine.writer import StoreWriter

log = logging.getLogger(__name__)

IDLE_SECONDS = 5.0
"""How often `retry_forever` has the store write what it keeps for later (the embedded store's
shards) and look for faults when there are none (a reader may find one)."""


class Ingest:
    """Backend events -> the store, through its one writer."""

    def __init__(
        self,
        writer: StoreWriter,
        tell: Callable[[str], None],
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = writer.store
        self._writer = writer
        self._tell = tell
        self._sleep = sleep
        self._faults = FaultLog(lambda fault: tell(fault.sentence))
        self._told_errors: set[str] = set()

    def report(self) -> None:
        """Tell the faults that are new since the last report."""
        self._faults.update(self._store.faults())

    async def apply(self, event: Event) -> str | None:
        """Apply one event; returns when it is durable (see the module's docstring)."""
        return (await self.apply_each([event]))[0]

    async def apply_each(self, events: list[Event]) -> list[str | None]:
        """Apply events that arrived together, with one sync; returns when they are durable. If
        one of them cannot be stored, each is applied alone, so that only that one is lost to
        the log (its body stays in the spool) and the others are kept."""
        backoff, waited = Backoff(), False
        while True:
            try:
                changed = await self._writer.apply_each(events)
            except StoreUnavailable:
                self.report()
                waited = True
                await self._sleep(backoff.next())
                continue
            except Exception as exc:  # noqa: BLE001 - one bad event never stops the others
                if len(events) > 1:
                    return [await self.apply(event) for event in events]
                log.exception("an event could not be stored: %r", events[0])
                sentence = (
                    f"An event from WhatsApp could not be stored ({flatten(str(exc), 120) or type(exc).__name__}); "
                    "its webhook body is kept where the receiver keeps every body (webhooks.spool on a desk, the "
                    "webhook_inbox table on a hub) and the log has the details."
                )
                if sentence not in self._told_errors:  # a storm of the same failure is told once
                    self._told_errors.add(sentence)
                    self._tell(sentence)
                return [None]
            if waited:
                log.warning("the store accepts events again")
            self.report()
            return changed

    async def retry_forever(self, retried: Callable[[set[str]], None] = lambda ids: None) -> None:
        """Every IDLE_SECONDS, let the store write what it keeps for later; while faults last,
        retry them with backoff instead. `retried(ids)` after (the store announces the changes
        itself)."""
        backoff = Backoff(first=1.0, most=60.0)
        while True:
            if self._store.faults():
                await self._sleep(backoff.next())
            else:
                backoff.reset()
                await self._sleep(IDLE_SECONDS)
            try:
                ids = await self._writer.retry()
            except Exception:  # noqa: BLE001 - retried at the next turn
                log.exception("retrying the store's faults failed")
                continue
            self.report()
            if ids:
                backoff.reset()
                retried(ids)


class EventPump:
    """Starts the backend and applies its events as they arrive together (`Backend.batches()`),
    each batch durable with one sync before the next is asked for (the acknowledgement rule of
    `Backend.events()`); retries the store's faults
    beside it. `on_event(event, changed conversation or None)` after each is stored; then
    `answer(event)` for each that changed something (engine.autoreply), awaited in turn before the
    next batch, so each answer sees the ones before it."""

    def __init__(
        self,
        backend: Backend,
        writer: StoreWriter,
        tell: Callable[[str], None],
        on_event: Callable[[Event, str | None], None] = lambda event, changed: None,
        answer: Callable[[Event], Awaitable[object]] | None = None,
    ) -> None:
        self.backend = backend
        self.ingest = Ingest(writer, tell)
        self._on_event = on_event
        self._answer = answer

    async def run(self, started: Callable[[], None] = lambda: None) -> None:
        """Until cancelled: start the backend (then `started()`), then pump."""
        await self.backend.start()
        started()
        retry = asyncio.create_task(self.ingest.retry_forever())
        try:
            async for batch in self.backend.batches():
                await self.apply_each(batch)
        finally:
            retry.cancel()

    async def apply(self, event: Event) -> str | None:
        """One event into the store; returns once it is durable. (Tests feed events here too.)"""
        return (await self.apply_each([event]))[0]

    async def apply_each(self, events: list[Event]) -> list[str | None]:
        changed = await self.ingest.apply_each(events)
        for event, conversation_id in zip(events, changed):
            self._on_event(event, conversation_id)
        if self._answer is not None:
            for event, conversation_id in zip(events, changed):
                if conversation_id is not None:
                    await self._answer(event)
        return changed
