"""The TinyStore's queue actions: an agent's status, snooze, owner, priority, labels and notes
on a conversation, each one journaled record through the write path (writing.py), and the audit
log that records them (desk.store.audit)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from desk.models import ConversationStatus, Direction, Message, MessageStatus, Priority
from desk.store import records, rules
from desk.store.audit import AuditEntry, entry_from_doc
from desk.store.tiny.shard import Shard
from desk.store.tiny.writing import Writing
from desk.summary import summarize


class QueueActions(Writing):
    def _known(self, conversation_id: str) -> Shard:
        """The conversation's shard for an agent's action (under the write lock); KeyError when
        there is no such conversation."""
        self._check_open()
        shard = self._shard(conversation_id)
        if shard.meta is None:
            raise KeyError(conversation_id)
        return shard

    def set_status(
        self,
        conversation_id: str,
        status: ConversationStatus,
        *,
        until: datetime | None = None,
        agent: str | None = None,
    ) -> None:
        if until is not None and status is not ConversationStatus.SNOOZED:
            raise ValueError("only a snoozed conversation has an until")
        with self._write_lock:
            shard = self._known(conversation_id)
            meta = shard.meta
            assert meta is not None
            current = summarize(meta, shard.transcript)
            if current.status is status and current.snoozed_until == until:
                return
            at = rules.status_at(self._clock.now(), shard.transcript)
            resolved_at = at if status is ConversationStatus.RESOLVED else meta.resolved_at
            # Reopening what was resolved begins a new episode: the resolution clock starts again.
            opened_at = at if current.status is ConversationStatus.RESOLVED else current.opened_at
            record = records.ConversationState(conversation_id, status, resolved_at, agent, at, until, opened_at)
            self._mutate(record, agent)

    def assign(self, conversation_id: str, assignee: str | None, *, agent: str | None = None) -> None:
        with self._write_lock:
            self._known(conversation_id)
            self._mutate(records.Assignment(conversation_id, assignee, agent, self._clock.now()), agent)

    def set_priority(self, conversation_id: str, priority: Priority, *, agent: str | None = None) -> None:
        with self._write_lock:
            self._known(conversation_id)
            self._mutate(records.Prioritised(conversation_id, priority, agent, self._clock.now()), agent)

    def set_labels(self, conversation_id: str, labels: Iterable[str], *, agent: str | None = None) -> None:
        with self._write_lock:
            self._known(conversation_id)
            record = records.Labelled(conversation_id, rules.labels(labels), agent, self._clock.now())
            self._mutate(record, agent)

    def add_note(self, conversation_id: str, text: str, *, agent: str | None = None) -> Message:
        if not text.strip():
            raise ValueError("a note needs text")
        with self._write_lock:
            shard = self._known(conversation_id)
            at = rules.status_at(self._clock.now(), shard.transcript)
            note = Message(
                f"note-{uuid.uuid4().hex}", conversation_id, Direction.OUTBOUND, "note", at, MessageStatus.NOTE,
                text=text, agent=agent,
            )
            recorded = self._mutate(records.Outgoing(conversation_id, note, agent), agent)[1]
            assert isinstance(recorded, Message)
            return recorded

    def audit(self, conversation_id: str) -> list[AuditEntry]:
        with self._write_lock:
            return [entry_from_doc(doc) for doc in self._known(conversation_id).audit()]
