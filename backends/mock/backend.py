"""The mock backend: the simulation behind the `Backend` contract, plus its small state file.

`events()` is a thin loop over the simulation's stepping API: hand over the history, then sleep
until the next due time (or until a send schedules an earlier status) and hand over what is due.
The state file also keeps the clock's time, so that a desk on the simulated clock (`--speed`)
continues it after a restart.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from backends.base import Backend, Capability, Sent
from backends.mock.simulation import STATE_VERSION, Simulation
from desk.atomic_storage import write_file_atomic
from desk.clock import Clock, real_seconds
from desk.config import MockConfig
from desk.models import BusinessNumber, Customer, Event, Template

CHECKPOINT_SECONDS = 10.0
"""Real seconds at most between two saves of the state file while the clock runs fast."""


class MockBackend(Backend):
    """A simulated WhatsApp for `config.numbers`, deterministic from `config.seed`.

    `state_path` keeps what a restart needs (see `Simulation.state`); when it does not exist yet
    (or is None, as in tests) this is a first start and `events()` begins with the history.
    """

    name = "mock"
    capabilities = (
        Capability.TEMPLATES | Capability.MARK_READ | Capability.TEMPLATE_SYNC | Capability.SEND_FILES | Capability.REACTIONS
    )

    def __init__(self, config: MockConfig, clock: Clock, state_path: Path | None = None) -> None:
        self._clock = clock
        self._state_path = state_path
        state = load_state(state_path)
        self.simulation = Simulation(config, clock.now(), state, clock_rate=clock.rate)
        # Until the history has been handed over, nothing is saved: a desk that dies before taking
        # it gets it again on the next start.
        self._history_handed_over = not self.simulation.first_start
        self._wake = asyncio.Event()
        self._sync_requested = False

    def business_numbers(self) -> list[BusinessNumber]:
        return list(self.simulation.numbers)

    async def stop(self) -> None:
        self.save(stopping=True)

    async def sync_templates(self) -> None:
        """The catalogue again, as TemplatesChanged events from `events()` (as the cloud does)."""
        self._sync_requested = True
        self._wake.set()

    async def events(self) -> AsyncIterator[Event]:
        """History (first start) or the current catalogues (restart), then live traffic, forever."""
        sim = self.simulation
        start = sim.history() if sim.first_start else sim.catalogue_events(self._clock.now())
        for i, event in enumerate(start):
            if i == len(start) - 1:
                self._history_handed_over = True
                self.save()
            yield event
        self._history_handed_over = True
        while True:
            now = self._clock.now()
            if self._sync_requested:
                self._sync_requested = False
                for event in sim.catalogue_events(now):
                    yield event
            due = sim.due_events(now)
            if due:
                self.save()
                for event in due:
                    yield event
                continue
            next_due = sim.next_due()
            # Due times are in the clock's time; a fast clock (--speed) makes the real wait shorter.
            timeout = None if next_due is None else real_seconds(self._clock, max((next_due - now).total_seconds(), 0.0))
            fast = self._clock.rate != 1
            if fast:
                timeout = CHECKPOINT_SECONDS if timeout is None else min(timeout, CHECKPOINT_SECONDS)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass
            if fast:
                self.save()  # the saved time stays ahead of what the desk shows (see `save`)

    async def send_file(
        self, business_number_id: str, customer: Customer, path: Path, caption: str | None = None,
        *, key: str | None = None,
    ) -> Sent:
        """A file is free-form like text: the same window rule, the same statuses afterwards."""
        return await self.send_text(business_number_id, customer, caption or path.name)

    async def send_text(
        self, business_number_id: str, customer: Customer, text: str, reply_to: str | None = None,
        *, key: str | None = None,
    ) -> Sent:
        sent = self.simulation.send_text(business_number_id, customer.id, text, self._clock.now(), reply_to)
        self._scheduled()
        return sent

    async def send_reaction(
        self, business_number_id: str, customer: Customer, message_id: str, emoji: str, *, key: str | None = None
    ) -> Sent:
        sent = self.simulation.send_reaction(business_number_id, customer.id, message_id, emoji, self._clock.now())
        self._scheduled()
        return sent

    async def send_template(
        self, business_number_id: str, customer: Customer, template: Template, values: dict[str, str],
        *, key: str | None = None,
    ) -> Sent:
        sent = self.simulation.send_template(
            business_number_id, customer.id, template.name, template.language, values, self._clock.now()
        )
        self._scheduled()
        return sent

    async def templates(self, business_number_id: str) -> list[Template]:
        return self.simulation.templates(business_number_id)

    async def mark_read(self, business_number_id: str, wamid: str) -> None:
        """Accepted and forgotten: the mock's customers do not look at blue ticks."""

    def save(self, *, stopping: bool = False) -> None:
        """Write the state file atomically (nothing before the history is handed over, or without a path).

        With the clock's time: the exact time when stopping; while running on a fast clock, the time
        it will have reached by the next save (at most CHECKPOINT_SECONDS later), so that a desk
        killed in between restarts a little ahead, never behind the timestamps it stored.
        """
        if self._state_path is None or not self._history_handed_over:
            return
        now = self._clock.now()
        if not stopping and self._clock.rate != 1:
            now += timedelta(seconds=CHECKPOINT_SECONDS * self._clock.rate)
        state = {**self.simulation.state(), "now": now.isoformat()}
        self._state_path.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomic(self._state_path, json.dumps(state, ensure_ascii=False).encode(), sync=False)

    def _scheduled(self) -> None:
        """A send queued statuses, maybe earlier than what `events()` is waiting for: wake it."""
        self.save()
        self._wake.set()


def load_state(path: Path | None) -> dict[str, Any] | None:
    """The saved state, or None for a first start (no path, no file, or one unreadable or from another
    version: replaying the history is harmless, the store drops messages it already has by wamid)."""
    if path is None or not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and state.get("version") == STATE_VERSION else None


def saved_now(path: Path | None) -> datetime | None:
    """The clock's time the state file was saved at (None: no file, or one from before it was kept)."""
    state = load_state(path)
    try:
        return datetime.fromisoformat(state["now"]) if state and state.get("now") else None
    except (TypeError, ValueError):
        return None
