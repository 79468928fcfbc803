"""The small TinyDB files beside the conversations: drafts.json (what agents typed and did not
send), templates.json (each business number's template catalogue), quick_replies.json (the canned
answers saved from the desk) and tabs.json (the conversations each agent keeps open). Each is read
whole at open and rewritten atomically on every change (they hold a few hundred entries at most)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from tinydb import Query, TinyDB

from desk.atomic_storage import AtomicOrjsonStorage
from desk.codec import template_from_doc, template_to_doc, ts_from_doc, ts_to_doc
from desk.models import Template
from desk.quick_replies import QuickReply

Catalogue = tuple[tuple[Template, ...], datetime | None]
"""A business number's templates and when they were last synced whole (None: never)."""


class _Table:
    """One TinyDB table over an atomic, buffered storage: a change is written whole, or not at all
    (then the file and the memory keep what they had)."""

    def __init__(self, path: Path, table: str) -> None:
        self._db = TinyDB(path, storage=AtomicOrjsonStorage, buffered=True)
        self._table = self._db.table(table, cache_size=0)
        # TinyDB types its storage as the base class; it is an instance of the class passed above.
        self._storage = cast(AtomicOrjsonStorage, self._db.storage)

    def all(self) -> list[dict[str, Any]]:
        return [dict(doc) for doc in self._table.all()]

    def upsert(self, doc: dict[str, Any], key: str) -> None:
        self._write(lambda: self._table.upsert(doc, Query()[key] == doc[key]))

    def remove(self, key: str, value: str) -> None:
        self._write(lambda: self._table.remove(Query()[key] == value))

    def _write(self, change: Callable[[], object]) -> None:
        try:
            change()
            self._storage.commit()
        except BaseException:
            self._storage.discard()
            raise


class Drafts:
    def __init__(self, path: Path) -> None:
        self._file = _Table(path, "drafts")
        self._drafts: dict[str, str] = {doc["conversation_id"]: doc["text"] for doc in self._file.all()}

    def get(self, conversation_id: str) -> str:
        return self._drafts.get(conversation_id, "")

    def save(self, conversation_id: str, text: str) -> None:
        """Durable when it returns; an empty text removes the draft."""
        if self.get(conversation_id) == text:
            return
        if text:
            self._file.upsert({"conversation_id": conversation_id, "text": text}, "conversation_id")
            self._drafts[conversation_id] = text
        else:
            self._file.remove("conversation_id", conversation_id)
            self._drafts.pop(conversation_id, None)


class Catalogues:
    def __init__(self, path: Path) -> None:
        self._file = _Table(path, "catalogues")
        self._catalogues: dict[str, Catalogue] = {
            doc["business_number_id"]: (
                tuple(template_from_doc(t) for t in doc.get("templates", ())),
                ts_from_doc(doc.get("synced_at")),
            )
            for doc in self._file.all()
        }

    def get(self, business_number_id: str) -> Catalogue:
        return self._catalogues.get(business_number_id, ((), None))

    def put(self, business_number_id: str, catalogue: Catalogue) -> None:
        templates, synced_at = catalogue
        self._file.upsert(
            {
                "business_number_id": business_number_id,
                "synced_at": ts_to_doc(synced_at),
                "templates": [template_to_doc(t) for t in templates],
            },
            "business_number_id",
        )
        self._catalogues[business_number_id] = catalogue


class Tabs:
    """Each agent's open conversations (tabs.json), in their order."""

    def __init__(self, path: Path) -> None:
        self._file = _Table(path, "tabs")
        self._tabs: dict[str, tuple[str, ...]] = {
            str(doc["agent"]): tuple(map(str, doc.get("conversations", ()))) for doc in self._file.all()
        }

    def get(self, agent: str) -> tuple[str, ...]:
        return self._tabs.get(agent, ())

    def save(self, agent: str, conversation_ids: tuple[str, ...]) -> None:
        """Durable when it returns."""
        if self.get(agent) != conversation_ids:
            self._file.upsert({"agent": agent, "conversations": list(conversation_ids)}, "agent")
            self._tabs[agent] = conversation_ids


class QuickReplies:
    def __init__(self, path: Path) -> None:
        self._file = _Table(path, "quick_replies")
        self._replies: dict[str, QuickReply] = {
            doc["shortcut"]: QuickReply(doc["shortcut"], doc["text"]) for doc in self._file.all()
        }

    def all(self) -> list[QuickReply]:
        return [self._replies[shortcut] for shortcut in sorted(self._replies)]

    def save(self, reply: QuickReply) -> None:
        """Durable when it returns; replaces the one with the same shortcut."""
        if self._replies.get(reply.shortcut) == reply:
            return
        self._file.upsert({"shortcut": reply.shortcut, "text": reply.text}, "shortcut")
        self._replies[reply.shortcut] = reply

    def delete(self, shortcut: str) -> bool:
        if shortcut not in self._replies:
            return False
        self._file.remove("shortcut", shortcut)
        del self._replies[shortcut]
        return True
