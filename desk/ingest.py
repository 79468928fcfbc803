"""The event pump's rules for store faults: one home, for the desk and `wadesk serve` alike.

- An event is handed on only once it is durable: `apply()` returns when the store has journaled it
  (its conversation's file may still wait: the store holds it and `retry()` writes it). While
  nothing can be made durable (StoreUnavailable: the journal's disk is full) it waits and tries
  again with backoff, so the backend never marks the webhook body done and the rest of the body
  waits with it.
- `retry_forever()` retries what the store holds (a file that could not be written or read) with
  backoff, so a backlog applies once space is back, without a restart.
- Each new fault is told once (`tell(sentence)`): the desk notifies the agent, serve logs it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from desk.faults import Backoff, FaultLog
from desk.models import Event
from desk.store import Store, StoreUnavailable
from desk.text import flatten

log = logging.getLogger(__name__)
T = TypeVar("T")

IDLE_SECONDS = 5.0
"""How often `retry_forever` looks for faults when there are none (a reader may find one)."""


class Ingest:
    """Backend events -> the store, through `write` (the one store-writer thread)."""

    def __init__(
        self,
        store: Store,
        write: Callable[..., Awaitable[Any]],
        tell: Callable[[str], None],
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._write = write
        self._tell = tell
        self._sleep = sleep
        self._faults = FaultLog(lambda fault: tell(fault.sentence))
        self._told_errors: set[str] = set()

    def report(self) -> None:
        """Tell the faults that are new since the last report."""
        self._faults.update(self._store.faults())

    async def apply(self, event: Event) -> str | None:
        """Apply one event; returns when it is durable (see the module's docstring)."""
        backoff, waited = Backoff(), False
        while True:
            try:
                changed = await self._write(self._store.apply, event)
            except StoreUnavailable:
                self.report()
                waited = True
                await self._sleep(backoff.next())
                continue
            except Exception as exc:  # noqa: BLE001 - one bad event never stops the others
                log.exception("an event could not be stored: %r", event)
                sentence = (
                    f"An event from WhatsApp could not be stored ({flatten(str(exc), 120) or type(exc).__name__}); "
                    "its webhook body stays in webhooks.spool and the log has the details."
                )
                if sentence not in self._told_errors:  # a storm of the same failure is told once
                    self._told_errors.add(sentence)
                    self._tell(sentence)
                return None
            if waited:
                log.warning("the store accepts events again")
            self.report()
            return changed

    async def retry_forever(self, changed: Callable[[set[str]], None]) -> None:
        """Retry what the store holds, with backoff while faults last; `changed(ids)` after."""
        backoff = Backoff(first=1.0, most=60.0)
        while True:
            if self._store.faults():
                await self._sleep(backoff.next())
            else:
                backoff.reset()
                await self._sleep(IDLE_SECONDS)
            if not self._store.faults():
                continue
            try:
                ids = await self._write(self._store.retry)
            except Exception:  # noqa: BLE001 - retried at the next turn
                log.exception("retrying the store's faults failed")
                continue
            self.report()
            if ids:
                backoff.reset()
                changed(ids)
