"""The desk's engine, without a face: what the TUI, `wadesk serve` and later a hub or a CLI share.

- context: the composition root (config -> backend from the registry + store + clock)
- writer: the store's one writer thread, as typed async calls signed with the agent's name
- pump: backend events -> the store, under the rules for store faults
- outbox: sending without losing or blindly resending
- autoreply: greeting and away messages, as customers' messages arrive

The store announces every change itself (`Store.changes()`); the faces follow it. Nothing here
imports Textual, Rich or `tui` (an import-linter contract, tests/test_architecture.py).
"""

from __future__ import annotations

from collections.abc import Callable

from desk.models import Event
from engine.autoreply import AutoReplier, Deliver
from engine.context import DeskContext
from engine.outbox import Outbox
from engine.pump import EventPump
from engine.writer import StoreWriter


class Engine:
    def __init__(
        self,
        context: DeskContext,
        tell: Callable[[str], None],
        on_event: Callable[[Event, str | None], None] = lambda event, changed: None,
        deliver: Deliver | None = None,
    ) -> None:
        """`tell(sentence)`: a store fault, once each, for the agent or the admin. `deliver`:
        how the face sends an automatic message it did not ask for (None: a task, logged)."""
        self.context = context
        self.writer = StoreWriter(context.store, context.config.agent_name)
        self.outbox = Outbox(self.writer, context.backend, context.clock)
        self.autoreplier = AutoReplier(context, self.outbox, tell, deliver)
        self.pump = EventPump(context.backend, self.writer, tell, on_event, self.autoreplier.answer)

    def close(self) -> None:
        """Wait for the writes under way; the store itself is closed by whoever opened it."""
        self.writer.close()


__all__ = ["AutoReplier", "DeskContext", "Engine", "EventPump", "Outbox", "StoreWriter"]
