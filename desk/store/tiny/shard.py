"""One conversation's TinyDB file (a shard) and where it lives.

A shard is `conversations/<bucket>/<name>.json`: the bucket is the first two hex digits of the
SHA-1 of the conversation id (256 directories, so none holds more than a few thousand files even at
a million conversations), the name the id percent-encoded so that it is safe and collision-free on
every filesystem, case-insensitive ones included.

Tables: `conversation` (one doc, id 1: business number, customer, status, resolved_at, read_upto),
`messages` (one doc per message, TinyDB doc ids in arrival order), `pending_statuses` (status
events for a wamid we do not know yet). The shard is held in memory while the writer uses it
(TinyDB over a buffered atomic storage) and written lazily: its changes wait in the store's
journal until the next shard flush writes every changed shard with one sync.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote_to_bytes

from tinydb import TinyDB
from tinydb.table import Document

from desk.atomic_storage import AtomicOrjsonStorage, promote
from desk.codec import (
    conversation_status,
    customer_from_doc,
    customer_to_doc,
    message_from_doc,
    message_to_doc,
    ts_from_doc,
    ts_to_doc,
)
from desk.models import Direction, Message
from desk.summary import ConversationMeta

_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.~")
_MAX_NAME = 180


def bucket(conversation_id: str) -> str:
    return hashlib.sha1(conversation_id.encode("utf-8")).hexdigest()[:2]


def safe_name(conversation_id: str) -> str:
    """A file name for the conversation id: lowercase letters, digits and `-_.~` as they are,
    everything else (upper case included, `%` too) as %XX per UTF-8 byte. Injective, and stays
    injective when a filesystem ignores case (only the hex digits after `%` are upper case)."""
    out = []
    for i, ch in enumerate(conversation_id):
        if ch in _SAFE and not (i == 0 and ch == "."):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    name = "".join(out)
    if len(name) > _MAX_NAME:
        digest = hashlib.sha256(conversation_id.encode("utf-8")).hexdigest()[:32]
        name = f"{name[:_MAX_NAME - 40]}-{digest}"
    return name


def shard_path(root: Path, conversation_id: str) -> Path:
    """`root` is the `conversations` directory."""
    return root / bucket(conversation_id) / f"{safe_name(conversation_id)}.json"


_ESCAPED = re.compile(r"(%[0-9A-F]{2})+")


def id_from_path(path: Path) -> str | None:
    """The conversation id a shard's file name stands for (what safe_name made), or None when
    the name was shortened with a digest (then only the file's content says)."""
    if not path.name.endswith(".json"):
        return None
    name = path.name[: -len(".json")]
    try:
        cid = _ESCAPED.sub(lambda m: unquote_to_bytes(m.group()).decode("utf-8"), name)
    except UnicodeDecodeError:
        return None
    return cid if safe_name(cid) == name and bucket(cid) == path.parent.name else None


def shard_files(root: Path) -> list[Path]:
    """Every shard file under `root` (the `conversations` directory)."""
    return [root / bucket / name for bucket, names in _listing(root) for name in names]


def count_shard_files(root: Path) -> int:
    """How many shard files there are: names only, no stat, no paths built (7 ms at 10k files,
    about 70 ms at 100k, next to the seconds it takes to parse them)."""
    return sum(len(names) for _, names in _listing(root))


def _listing(root: Path) -> list[tuple[str, list[str]]]:
    try:
        buckets = os.listdir(root)
    except FileNotFoundError:
        return []
    found = []
    for bucket in buckets:
        try:
            names = os.listdir(os.path.join(root, bucket))
        except NotADirectoryError:
            continue
        found.append((bucket, [name for name in names if name.endswith(".json")]))
    return found


def meta_to_doc(meta: ConversationMeta) -> dict[str, Any]:
    return {
        "id": meta.id,
        "business_number_id": meta.business_number_id,
        "customer": customer_to_doc(meta.customer),
        "status": meta.status.value,
        "resolved_at": ts_to_doc(meta.resolved_at),
        "read_upto": ts_to_doc(meta.read_upto),
        "failure_seen": meta.failure_seen,
    }


def meta_from_doc(doc: dict[str, Any]) -> ConversationMeta:
    return ConversationMeta(
        id=doc["id"],
        business_number_id=doc["business_number_id"],
        customer=customer_from_doc(doc["customer"]),
        status=conversation_status(doc.get("status", "open")),
        resolved_at=ts_from_doc(doc.get("resolved_at")),
        read_upto=ts_from_doc(doc.get("read_upto")),
        failure_seen=doc.get("failure_seen"),
    )


def _replace_with(new: dict[str, Any]) -> Callable[[MutableMapping[str, Any]], None]:
    def transform(doc: MutableMapping[str, Any]) -> None:
        doc.clear()
        doc.update(new)

    return transform


class Shard:
    """A conversation's file, loaded. Only the writer thread touches one; readers get `transcript`."""

    def __init__(self, path: Path, conversation_id: str) -> None:
        self.path = path
        self.id = conversation_id
        self.db = TinyDB(path, storage=AtomicOrjsonStorage, buffered=True)
        # TinyDB types its storage as the base class; it is an instance of the class passed above.
        self.storage = cast(AtomicOrjsonStorage, self.db.storage)
        self._conversation = self.db.table("conversation", cache_size=0)
        self._messages = self.db.table("messages", cache_size=0)
        self._pending = self.db.table("pending_statuses", cache_size=0)
        self.meta: ConversationMeta | None = None
        self.by_doc: dict[int, Message] = {}
        self.by_id: dict[str, int] = {}
        self.by_wamid: dict[str, int] = {}
        self._transcript: tuple[Message, ...] | None = None
        self._load()
        self.on_disk = self.storage.has_data
        """Whether the file exists (the store counts shard files to check its index at open)."""

    def _load(self) -> None:
        doc = self._conversation.get(doc_id=1)
        self.meta = meta_from_doc(doc) if doc is not None else None
        # From the storage's data itself, not the table's Documents (a copy of each doc): the
        # writer loads a shard for most messages it stores.
        for key, raw in ((self.storage.read() or {}).get("messages") or {}).items():
            self._index(int(key), message_from_doc(raw, self.id))

    def _index(self, doc_id: int, message: Message) -> None:
        old = self.by_doc.get(doc_id)
        if old is not None and old.wamid and self.by_wamid.get(old.wamid) == doc_id:
            del self.by_wamid[old.wamid]
        self.by_doc[doc_id] = message
        self.by_id[message.id] = doc_id
        if message.wamid:
            self.by_wamid[message.wamid] = doc_id
        self._transcript = None

    @property
    def exists(self) -> bool:
        return self.meta is not None

    @property
    def transcript(self) -> tuple[Message, ...]:
        """Every message, oldest first (timestamp, then arrival)."""
        if self._transcript is None:
            self._transcript = tuple(
                m for _, m in sorted(self.by_doc.items(), key=lambda item: (item[1].timestamp, item[0]))
            )
        return self._transcript

    # --- lookups -----------------------------------------------------------------------------------

    def find(self, key: str) -> int | None:
        """A message's doc id by its id or its wamid."""
        doc_id = self.by_id.get(key)
        if doc_id is None:
            doc_id = self.by_wamid.get(key)
        return doc_id

    def ours_by_wamid(self, wamid: str) -> int | None:
        """Our (outbound) message whose wamid, or id, is `wamid`."""
        for doc_id in (self.by_wamid.get(wamid), self.by_id.get(wamid)):
            if doc_id is not None and self.by_doc[doc_id].direction is Direction.OUTBOUND:
                return doc_id
        return None

    # --- changes (buffered until commit) -----------------------------------------------------------

    def set_meta(self, meta: ConversationMeta) -> None:
        doc = meta_to_doc(meta)
        if self._conversation.contains(doc_id=1):
            self._conversation.update(_replace_with(doc), doc_ids=[1])
        else:
            self._conversation.insert(Document(doc, doc_id=1))
        self.meta = meta

    def insert(self, message: Message) -> int:
        doc_id = self._messages.insert(message_to_doc(message))
        self._index(doc_id, message)
        return doc_id

    def replace(self, doc_id: int, message: Message) -> None:
        self._messages.update(_replace_with(message_to_doc(message)), doc_ids=[doc_id])
        self._index(doc_id, message)

    def pending(self) -> list[tuple[int, dict[str, Any]]]:
        return [(doc.doc_id, dict(doc)) for doc in self._pending.all()]

    def add_pending(self, doc: dict[str, Any]) -> None:
        self._pending.insert(doc)

    def remove_pending(self, doc_ids: list[int]) -> None:
        if doc_ids:
            self._pending.remove(doc_ids=doc_ids)

    @property
    def dirty(self) -> bool:
        return self.storage.dirty

    def commit(self) -> bool:
        """Write the shard now, durably, if it changed. The caller makes the directory."""
        written = self.storage.commit()
        self.on_disk = self.on_disk or written
        return written

    def stage(self) -> bool:
        """Write the shard's next content beside its file if it changed (atomic_storage.stage);
        the store syncs and promotes it with the others of the same flush."""
        return self.storage.stage()

    def promote(self) -> None:
        promote(self.path)
        self.on_disk = True


_DOC_KEY = re.compile(r'\s*"(\d+)"\s*:\s*')


def salvage(path: Path, conversation_id: str) -> tuple[ConversationMeta | None, list[Message]]:
    """What a shard file that no longer parses still holds whole: its conversation and every
    message before the damage, in order. The file is one JSON object, written by orjson with its
    tables in order (conversation, messages, pending statuses), so a truncated or garbled file
    keeps everything up to the damage; each document is read on its own, and one that does not
    read as what it should be is left out."""
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return None, []
    meta = None
    for doc in _table(text, "conversation")[:1]:
        try:
            meta = meta_from_doc(doc)
        except (KeyError, ValueError, TypeError, AttributeError):
            meta = None
    if meta is not None and meta.id != conversation_id:
        meta = None
    messages = []
    for doc in _table(text, "messages"):
        try:
            messages.append(message_from_doc(doc, conversation_id))
        except (KeyError, ValueError, TypeError, AttributeError):
            continue
    return meta, messages


def _table(text: str, name: str) -> list[dict[str, Any]]:
    start = text.find(f'"{name}":{{')
    if start < 0:
        return []
    decoder, at, docs = json.JSONDecoder(), start + len(name) + 4, []
    while (key := _DOC_KEY.match(text, at)) is not None:
        try:
            doc, at = decoder.raw_decode(text, key.end())
        except ValueError:
            break  # the damage: nothing after it can be trusted to be whole
        if isinstance(doc, dict):
            docs.append(doc)
        if not text.startswith(",", at):
            break
        at += 1
    return docs

