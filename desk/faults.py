"""Store faults: what one sentence says about each, moving a damaged file aside, telling once, and
the backoff between retries. Headless: the desk and `wadesk serve` tell the same sentences.

A fault in one conversation's file never stops the others: the store keeps the events it could
not write in its journal (durable) and retries them; a file that does not parse is renamed
`<name>.json.damaged-<n>` (never deleted) and the conversation rebuilt from what the journal holds.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from desk.atomic_storage import fsync_dir
from desk.store import StoreFault
from desk.text import display_name, flatten


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return "the disk is full"
        if exc.strerror:
            return exc.strerror[0].lower() + exc.strerror[1:]
    return flatten(str(exc), 120) or type(exc).__name__


def _conversation(conversation_id: str, name: str | None) -> str:
    cid = flatten(conversation_id, 120)
    return f"the conversation with {display_name(name, 60)} ({cid})" if name else f"the conversation {cid}"


def damaged(conversation_id: str, name: str | None, path: Path, aside: Path, rebuilt: int, kept: int = 0) -> StoreFault:
    sentence = (
        f"The file of {_conversation(conversation_id, name)}, {flatten(str(path))}, was damaged; "
        f"it is kept as {flatten(aside.name)} and the conversation was rebuilt from the "
        f"{kept} message(s) still whole in it and the journal ({rebuilt} event(s)): messages after "
        "the damage are missing until `wadesk check --repair` restores what the webhook spool "
        "still holds."
    )
    return StoreFault("damaged", conversation_id, path, sentence)


def unreadable(conversation_id: str, name: str | None, path: Path, exc: BaseException) -> StoreFault:
    sentence = (
        f"The file of {_conversation(conversation_id, name)}, {flatten(str(path))}, cannot be read "
        f"({_reason(exc)}); new events for it wait in the journal and are retried."
    )
    return StoreFault("unreadable", conversation_id, path, sentence)


def unwritable(conversation_id: str, name: str | None, path: Path, exc: BaseException, held: int) -> StoreFault:
    sentence = (
        f"The file of {_conversation(conversation_id, name)}, {flatten(str(path))}, cannot be written "
        f"({_reason(exc)}); its {held} new event(s) are safe in the journal and are retried."
    )
    return StoreFault("unwritable", conversation_id, path, sentence)


def journal_full(path: Path, exc: BaseException) -> StoreFault:
    sentence = (
        f"Nothing can be saved: the journal {flatten(str(path))} cannot be written ({_reason(exc)}). "
        "Webhooks wait in the spool and are retried; free some space."
    )
    return StoreFault("journal", None, path, sentence)


def index_unwritable(path: Path, exc: BaseException) -> StoreFault:
    sentence = (
        f"The index {flatten(str(path))} cannot be written ({_reason(exc)}); nothing is lost "
        "(the journal holds every change) and it is retried."
    )
    return StoreFault("index", None, path, sentence)


def sidecar_damaged(path: Path, aside: Path, exc: BaseException) -> StoreFault:
    sentence = (
        f"{flatten(path.name)} ({flatten(str(path))}) could not be read ({_reason(exc)}); it is kept as "
        f"{flatten(aside.name)} and the desk goes on without what it held (drafts, tabs, quick "
        "replies or notes about customers: whichever that file keeps)."
    )
    return StoreFault("damaged", None, path, sentence)


def move_aside(path: Path) -> Path:
    """Rename a damaged file to `<name>.damaged-<n>` (the first free n), never deleting it."""
    n = 1
    while True:
        aside = path.with_name(f"{path.name}.damaged-{n}")
        if not aside.exists():
            break
        n += 1
    os.replace(path, aside)
    fsync_dir(path.parent)
    return aside


class FaultLog:
    """Tells each new fault once (`tell(fault)`); a fault that cleared and comes back is told again."""

    def __init__(self, tell: Callable[[StoreFault], None]) -> None:
        self._tell = tell
        self._told: set[tuple[str, str | None, str]] = set()

    def update(self, faults: Iterable[StoreFault]) -> None:
        current = {fault.key: fault for fault in faults}
        for key, fault in current.items():
            if key not in self._told:
                self._tell(fault)
        self._told = set(current)


class Backoff:
    """Delays between retries: `first` seconds, doubling up to `most`, until `reset()`."""

    def __init__(self, first: float = 0.5, most: float = 60.0) -> None:
        self.first, self.most = first, most
        self._next = first

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.most)
        return delay

    def reset(self) -> None:
        self._next = self.first
