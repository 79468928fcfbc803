"""One conversation's TinyDB file (a shard), loaded: its document (desk/store/document.py: the
conversation, its messages, the statuses waiting for a wamid, the audit log) with the file it
lives in (where it lives and which copy is read: files.py).

Beside the document's tables the file has `written` (doc 1: the journal seq the copy was written
at). The shard is held in memory while the writer uses it and written lazily: its changes wait in
the store's journal until the next shard flush writes every changed shard with one sync.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from desk.atomic_storage import fsync_dir, overwrite
from desk.codec import message_from_doc
from desk.models import Message
from desk.store.document import ConversationDocument, in_order
from desk.store.tiny.files import read_slot, slot_path


class Shard(ConversationDocument):
    """A conversation's file, loaded. Only the writer thread touches one; readers get `transcript`."""

    def __init__(self, path: Path, conversation_id: str, slot: int | None = None, covered: int = 0) -> None:
        """Load the shard whose slot 0 is `path` (read_slot says which copy: `slot` and `covered`).
        Raises OSError (unreadable) or one of DAMAGE (no copy to trust)."""
        self.path = path
        self.slot, data, self.fell_back = read_slot(path, slot, covered)
        """The current slot: the next write goes to the other."""
        super().__init__(conversation_id, data)
        self.created = False
        """Whether the last `stage` made a new file (its directory needs an fsync; the store
        counts new slot 0 files)."""

    def snapshot(self) -> Snapshot:
        """The messages as they are now, for a reader on another thread: it builds what it reads."""
        return Snapshot(self.id, tuple(self._docs.items()), self._transcript)

    def stage(self, seq: int) -> Path | None:
        """Write the shard over its other slot if it changed, marked as written at journal record
        `seq`, not yet durable: the store syncs it with the others of the same flush, then
        `promote`s it. Returns the file written, or None when there was nothing to write."""
        if not self.storage.dirty or not self.storage.has_data:
            return None
        data = self.document()
        data["written"] = {"1": {"seq": seq}}
        target = slot_path(self.path, 1 - self.slot)
        self.created = overwrite(target, orjson.dumps(data))
        self.storage.dirty = False
        return target

    def promote(self) -> None:
        """The staged copy is durable: it is the current slot now."""
        self.slot = 1 - self.slot
        self.fell_back = False

    def commit(self, seq: int) -> Path | None:
        """Write the shard now, durably, if it changed (a rebuilt one). The caller makes the
        directory. Returns the file written, or None."""
        target = self.stage(seq)
        if target is None:
            return None
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if self.created:
            fsync_dir(target.parent)
        self.promote()
        return target


class Snapshot:
    """A shard's messages at one moment, for readers: the docs are never changed in place (a
    change replaces the doc), so this holds them whole while the writer goes on; the Messages are
    built on the first read."""

    __slots__ = ("_docs", "_id", "_transcript")

    def __init__(self, conversation_id: str, docs: tuple[tuple[str, dict[str, Any]], ...],
                 transcript: tuple[Message, ...] | None) -> None:
        self._id = conversation_id
        self._docs = docs
        self._transcript = transcript

    @property
    def transcript(self) -> tuple[Message, ...]:
        if self._transcript is None:
            self._transcript = in_order((message_from_doc(raw, self._id), int(key)) for key, raw in self._docs)
        return self._transcript
