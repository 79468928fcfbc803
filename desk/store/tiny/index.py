"""index.json: every conversation's summary, held in memory and written whole now and then.

A cache of the shards: the journal holds every change since it was written, so losing it costs a
rebuild, never data. At 100k conversations it is 100 documents of INDEX_CHUNK rows each (a third
of the objects to parse of one document per row), loaded with the collector off.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from desk.atomic_storage import AtomicOrjsonStorage, read_json
from desk.codec import ROW_FIELDS, conversation_from_row, conversation_to_row
from desk.models import Conversation

log = logging.getLogger(__name__)

INDEX_VERSION = 2
INDEX_CHUNK = 1000
"""Summary rows per index document."""

_WAITING = ROW_FIELDS.index("waiting_since")


@contextmanager
def _no_collector() -> Iterator[None]:
    """100k rows of small objects: the collector would double the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Index:
    """The summaries in memory: written by the store's one writer, read from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.rows: dict[str, Conversation | list[Any]] = {}
        """Every conversation's summary: its index row as loaded, turned into a Conversation on
        first read and kept only in that form (both at once cost ~80 MB more at 100k)."""
        self.all_built = True
        """Whether every value of `rows` is a Conversation already."""
        self.in_flight: set[str] = set()
        """Conversations holding our messages QUEUED or SENDING."""
        self.second_slot: set[str] = set()
        """Conversations whose current copy is their shard's slot 1 (files.py); the others', 0."""
        self.dirty = False
        """The memory differs from the file."""

    # --- the file --------------------------------------------------------------------------------------

    def load(self) -> tuple[int | None, int | None]:
        """Load the file; returns the journal seq it covers (None when there is no usable index)
        and the number of shard files it was written with (None: not recorded)."""
        with _no_collector():
            try:
                data = read_json(self.path)
            except Exception as exc:  # noqa: BLE001 - a cache: rebuild it from the shards
                log.error("index %s is unreadable (%r); rebuilding it from the shards", self.path, exc)
                return None, None
            if data is None:
                return None, None
            meta = data.get("meta", {}).get("1", {})
            if meta.get("version") != INDEX_VERSION:
                log.warning("index %s has version %r; rebuilding it", self.path, meta.get("version"))
                return None, None
            self.all_built = False
            self.rows = {row[0]: row for doc in data.get("conversations", {}).values() for row in doc["rows"]}
            self.in_flight = set(data.get("outbox", {}).get("1", {}).get("conversations", []))
            self.second_slot = set(data.get("slots", {}).get("1", {}).get("second", []))
            shards = meta.get("shards")
            return int(meta.get("seq", 0)), (shards if isinstance(shards, int) else None)

    def write(self, covered: int, shard_files: int) -> None:
        """Write the file atomically, saying it covers journal records up to `covered`."""
        with self.lock:
            values = list(self.rows.values())
            in_flight = sorted(self.in_flight)
            second = sorted(self.second_slot)
        rows = [v if isinstance(v, list) else conversation_to_row(v) for v in values]
        chunks = {
            str(number): {"rows": rows[start : start + INDEX_CHUNK]}
            for number, start in enumerate(range(0, len(rows), INDEX_CHUNK), 1)
        }
        data: dict[str, dict[str, Any]] = {
            "meta": {"1": {"version": INDEX_VERSION, "seq": covered, "shards": shard_files}},
            "conversations": chunks,
            "outbox": {"1": {"conversations": in_flight}},
            "slots": {"1": {"second": second}},
        }
        del rows
        AtomicOrjsonStorage(self.path).write(data)
        self.dirty = False

    def clear(self) -> dict[str, Conversation | list[Any]]:
        """Forget every summary (before a rebuild); returns what was known, as seeds."""
        seeds = self.rows
        self.rows, self.in_flight, self.all_built, self.dirty = {}, set(), True, True
        self.second_slot = set()
        return seeds

    # --- reading ---------------------------------------------------------------------------------------

    def all(self) -> list[Conversation]:
        with self.lock:
            if not self.all_built:
                rows = self.rows
                with _no_collector():
                    for cid, value in rows.items():
                        if isinstance(value, list):
                            rows[cid] = conversation_from_row(value)
                self.all_built = True
            # all_built: every value is a Conversation now, which the dict's type cannot say.
            return cast(list[Conversation], list(self.rows.values()))

    def waiting_ids(self) -> list[str]:
        """From the raw rows: ~10% of conversations wait, and building the other 90% is what makes
        all() take ~0.45 s at 100k."""
        with self.lock:
            return [
                cid
                for cid, value in self.rows.items()
                if (value[_WAITING] if isinstance(value, list) else value.waiting_since) is not None
            ]

    def get(self, conversation_id: str) -> Conversation | None:
        value = self.rows.get(conversation_id)
        if value is None or isinstance(value, Conversation):
            return value
        with self.lock:
            value = self.rows.get(conversation_id)
            if isinstance(value, list):
                value = self.rows[conversation_id] = conversation_from_row(value)
            return value

    def slot(self, conversation_id: str) -> int:
        return 1 if conversation_id in self.second_slot else 0

    def in_flight_ids(self) -> list[str]:
        with self.lock:
            return sorted(self.in_flight)

    def ids(self) -> list[str]:
        with self.lock:
            return list(self.rows)

    # --- writing ---------------------------------------------------------------------------------------

    def put(self, conversation: Conversation, in_flight: bool) -> None:
        with self.lock:
            self.rows[conversation.id] = conversation
            if in_flight:
                self.in_flight.add(conversation.id)
            else:
                self.in_flight.discard(conversation.id)
            self.dirty = True

    def set_slot(self, conversation_id: str, slot: int) -> None:
        with self.lock:
            if slot:
                self.second_slot.add(conversation_id)
            else:
                self.second_slot.discard(conversation_id)
            self.dirty = True

    def drop(self, conversation_ids: list[str]) -> None:
        with self.lock:
            for cid in conversation_ids:
                self.rows.pop(cid, None)
                self.in_flight.discard(cid)
                self.second_slot.discard(cid)
            self.dirty = True
