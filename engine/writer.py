"""The store's one writer: every write goes through this one thread, as typed async calls.

TinyDB is not thread-safe, and no event loop (the TUI's, serve's) may wait on an fsync: a durable
write is ~0.3-1 ms here and 1-10 ms on a laptop SSD. Reads go to the store directly (from memory).
The writer signs the agent's own writes with the agent's name; what comes from WhatsApp is
nobody's (agent None).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from desk.customer import CustomerProfile
from desk.models import ConversationStatus, Event, Message, MessageStatus, Priority
from desk.quick_replies import QuickReply
from desk.store import Store
from desk.store.audit import AuditEntry

T = TypeVar("T")


class StoreWriter:
    def __init__(self, store: Store, agent: str, thread: ThreadPoolExecutor | None = None) -> None:
        self.store = store
        self.agent = agent
        self._thread = thread or ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")

    def signed(self, agent: str) -> StoreWriter:
        """The same writer thread, signing with `agent`: the hub's API acts for whoever asked.
        Closing the writer closes it for its views too; a view is never closed on its own."""
        return StoreWriter(self.store, agent, self._thread)

    async def _run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, partial(fn, *args, **kwargs))

    # --- what WhatsApp told us -----------------------------------------------------------------------

    async def apply(self, event: Event) -> str | None:
        return await self._run(self.store.apply, event)

    async def apply_each(self, events: list[Event]) -> list[str | None]:
        return await self._run(self.store.apply_each, events)

    async def retry(self) -> set[str]:
        return await self._run(self.store.retry)

    # --- the agent's own -----------------------------------------------------------------------------

    async def record_outgoing(self, message: Message) -> Message:
        return await self._run(self.store.record_outgoing, message, agent=self.agent)

    async def update_outgoing(
        self,
        conversation_id: str,
        message_id: str,
        status: MessageStatus,
        *,
        at: datetime,
        wamid: str | None = None,
        error_code: int | None = None,
        error_text: str | None = None,
    ) -> Message:
        return await self._run(
            self.store.update_outgoing, conversation_id, message_id, status,
            at=at, wamid=wamid, error_code=error_code, error_text=error_text, agent=self.agent,
        )

    async def mark_read(self, conversation_id: str, upto: datetime | None = None) -> None:
        await self._run(self.store.mark_read, conversation_id, upto=upto, agent=self.agent)

    async def set_status(
        self, conversation_id: str, status: ConversationStatus, until: datetime | None = None
    ) -> None:
        await self._run(self.store.set_status, conversation_id, status, until=until, agent=self.agent)

    async def assign(self, conversation_id: str, assignee: str | None) -> None:
        await self._run(self.store.assign, conversation_id, assignee, agent=self.agent)

    async def claim(self, conversation_id: str, assignee: str) -> str | None:
        """`assignee` (this agent's id) takes the conversation unless another agent has it;
        returns who has it afterwards (Store.claim, which signs the change with `assignee`)."""
        return await self._run(self.store.claim, conversation_id, assignee)

    async def set_priority(self, conversation_id: str, priority: Priority) -> None:
        await self._run(self.store.set_priority, conversation_id, priority, agent=self.agent)

    async def set_labels(self, conversation_id: str, labels: Iterable[str]) -> None:
        await self._run(self.store.set_labels, conversation_id, tuple(labels), agent=self.agent)

    async def add_note(self, conversation_id: str, text: str) -> Message:
        return await self._run(self.store.add_note, conversation_id, text, agent=self.agent)

    async def audit(self, conversation_id: str) -> list[AuditEntry]:
        """After every write before it (the log is the writer's to read)."""
        return await self._run(self.store.audit, conversation_id)

    async def save_tabs(self, conversation_ids: list[str]) -> None:
        await self._run(self.store.save_tabs, self.agent, conversation_ids)

    async def save_draft(self, conversation_id: str, text: str) -> None:
        await self._run(self.store.save_draft, conversation_id, text, agent=self.agent)

    async def save_quick_reply(self, shortcut: str, text: str) -> QuickReply:
        return await self._run(self.store.save_quick_reply, shortcut, text, agent=self.agent)

    async def delete_quick_reply(self, shortcut: str) -> bool:
        return await self._run(self.store.delete_quick_reply, shortcut, agent=self.agent)

    async def save_customer_profile(self, customer_id: str, profile: CustomerProfile) -> CustomerProfile:
        return await self._run(self.store.save_customer_profile, customer_id, profile, agent=self.agent)

    # --- the desk's own (engine.autoreply): nobody's -------------------------------------------------

    async def record_automatic(self, message: Message) -> Message:
        """An automatic message into the outbox, signed by nobody: no agent wrote it."""
        return await self._run(self.store.record_outgoing, message, agent=None)

    # --- reads that must see every write before them -------------------------------------------------

    async def queued(self) -> list[Message]:
        return await self._run(self.store.queued)

    def close(self) -> None:
        """Wait for the writes under way, then stop the thread."""
        self._thread.shutdown(wait=True)
