"""What a shard copy that no longer parses still holds whole."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from desk.codec import message_from_doc
from desk.models import Message
from desk.store.document import meta_from_doc
from desk.summary import ConversationMeta

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

