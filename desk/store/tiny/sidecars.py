"""The small TinyDB files beside the conversations: drafts.json (what agents typed and did not
send), templates.json (each business number's template catalogue), quick_replies.json (the canned
answers saved from the desk), tabs.json (the conversations each agent keeps open) and customers.json
(the agents' notes and attributes about customers). Each is read whole at open (customers.json at
its first use) and rewritten atomically on every change: they hold a few hundred entries at most,
customers.json perhaps thousands of small ones (CustomerProfiles says what that costs)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from tinydb import Query, TinyDB

from desk import faults
from desk.atomic_storage import AtomicOrjsonStorage
from desk.codec import template_from_doc, template_to_doc, ts_from_doc, ts_to_doc
from desk.customer import CustomerProfile
from desk.models import Template
from desk.quick_replies import QuickReply
from desk.store.contract import StoreFault

Catalogue = tuple[tuple[Template, ...], datetime | None]
"""A business number's templates and when they were last synced whole (None: never)."""


Tell = Callable[[StoreFault], None]


class _Table:
    """One TinyDB table over an atomic, buffered storage: a change is written whole, or not at all
    (then the file and the memory keep what they had)."""

    def __init__(self, path: Path, table: str, tell: Tell) -> None:
        """`tell`: how the store hears that the file did not parse: it is then moved aside (never
        deleted) and this starts empty, so that a damaged sidecar never stops the desk."""
        self._open(path, table)
        try:
            self.all()
        except (ValueError, TypeError, AttributeError) as exc:  # not JSON, or not TinyDB's shape
            self._db.close()
            aside = faults.move_aside(path)
            self._open(path, table)
            tell(faults.sidecar_damaged(path, aside, exc))

    def _open(self, path: Path, table: str) -> None:
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
    def __init__(self, path: Path, tell: Tell) -> None:
        self._file = _Table(path, "drafts", tell)
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
    def __init__(self, path: Path, tell: Tell) -> None:
        self._file = _Table(path, "catalogues", tell)
        self._catalogues: dict[str, Catalogue] = {
            doc["business_number_id"]: (
                tuple(template_from_doc(t) for t in doc.get("templates", ())),
                ts_from_doc(doc.get("synced_at")),
            )
            for doc in self._file.all()
        }

    def get(self, business_number_id: str) -> Catalogue:
        return self._catalogues.get(business_number_id, ((), None))

    def numbers(self) -> list[str]:
        return sorted(self._catalogues)

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

    def __init__(self, path: Path, tell: Tell) -> None:
        self._file = _Table(path, "tabs", tell)
        self._tabs: dict[str, tuple[str, ...]] = {
            str(doc["agent"]): tuple(map(str, doc.get("conversations", ()))) for doc in self._file.all()
        }

    def get(self, agent: str) -> tuple[str, ...]:
        return self._tabs.get(agent, ())

    def agents(self) -> list[str]:
        return sorted(self._tabs)

    def save(self, agent: str, conversation_ids: tuple[str, ...]) -> None:
        """Durable when it returns."""
        if self.get(agent) != conversation_ids:
            self._file.upsert({"agent": agent, "conversations": list(conversation_ids)}, "agent")
            self._tabs[agent] = conversation_ids


class QuickReplies:
    def __init__(self, path: Path, tell: Tell) -> None:
        self._file = _Table(path, "quick_replies", tell)
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


class CustomerProfiles:
    """The agents' notes and attributes, by customer id (customers.json). Rewritten whole on each
    save, which an agent makes by hand: measured here, 1.7 ms at 1,000 profiles of a short note and
    four attributes (190 KB), 18 ms at 10,000 (2 MB). Read on first use, not at open: reading
    10,000 costs 0.17 s, which the desk's start should not wait for."""

    def __init__(self, path: Path, tell: Tell) -> None:
        self._path = path
        self._tell = tell
        self._loaded: tuple[_Table, dict[str, CustomerProfile]] | None = None
        self._lock = threading.Lock()
        """The first reader (the UI's thread) and the writer's thread may load it at once."""

    def _load(self) -> tuple[_Table, dict[str, CustomerProfile]]:
        with self._lock:
            if self._loaded is None:
                table = _Table(self._path, "customers", self._tell)
                profiles = {
                    str(doc["customer_id"]): CustomerProfile(
                        str(doc.get("notes", "")),
                        tuple((str(k), str(v)) for k, v in doc.get("attributes", ())),
                        ts_from_doc(doc.get("updated_at")),
                        doc.get("updated_by"),
                    )
                    for doc in table.all()
                }
                self._loaded = (table, profiles)
            return self._loaded

    def get(self, customer_id: str) -> CustomerProfile:
        return self._load()[1].get(customer_id) or CustomerProfile()

    def ids(self) -> list[str]:
        return sorted(self._load()[1])

    def save(self, customer_id: str, profile: CustomerProfile) -> CustomerProfile:
        """Durable when it returns; an empty profile removes the customer's, the same notes and
        attributes again change nothing. Returns the profile kept."""
        table, profiles = self._load()
        kept = profiles.get(customer_id) or CustomerProfile()
        if (kept.notes, kept.attributes) == (profile.notes, profile.attributes):
            return kept
        if profile.is_empty:
            table.remove("customer_id", customer_id)
            profiles.pop(customer_id, None)
            return CustomerProfile()
        doc = {
            "customer_id": customer_id,
            "notes": profile.notes,
            "attributes": [list(pair) for pair in profile.attributes],
            "updated_at": ts_to_doc(profile.updated_at),
            "updated_by": profile.updated_by,
        }
        table.upsert(doc, "customer_id")
        profiles[customer_id] = profile
        return profile
