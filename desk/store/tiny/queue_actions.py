"""The TinyStore's queue actions: an agent's status, snooze, owner (and claim), priority, labels
and notes on a conversation (decided by desk/store/actions.py), each one journaled record through the write path (writing.py), and the audit
log that records them (desk.store.audit)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from desk.models import ConversationStatus, Message, Priority
from desk.store import actions, records, rules
from desk.store.audit import AuditEntry, entry_from_doc
from desk.store.tiny.shard import Shard
from desk.store.tiny.writing import Writing


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
        actions.check_status(status, until)
        with self._write_lock:
            record = actions.status(self._known(conversation_id), status, until, agent, self._clock.now())
            if record is not None:
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
        actions.check_note(text)
        with self._write_lock:
            record = actions.note(self._known(conversation_id), text, agent, self._clock.now())
            recorded = self._mutate(record, agent)[1]
            assert isinstance(recorded, Message)
            return recorded

    def claim(self, conversation_id: str, agent: str) -> str | None:
        with self._write_lock:
            shard = self._known(conversation_id)
            record = actions.claim(shard, agent, self._clock.now())
            if record is None:
                assert shard.meta is not None  # _known's
                return shard.meta.assignee
            self._mutate(record, agent)
            return agent

    def audit(self, conversation_id: str) -> list[AuditEntry]:
        with self._write_lock:
            return [entry_from_doc(doc) for doc in self._known(conversation_id).audit()]
