"""Reading a store's changes in the contract suite: a few at a time, with a timeout that only
guards against a hang (every change awaited is made before or while it is awaited)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from desk.store.contract import Change, ChangeKind, Store

TIMEOUT = 5.0
"""Seconds before a wait for a change counts as a failure."""


async def first(changes: AsyncIterator[Change], count: int) -> list[Change]:
    """The next `count` changes of an iterator that never ends."""
    taken: list[Change] = []
    while len(taken) < count:
        taken.append(await asyncio.wait_for(anext(changes), TIMEOUT))
    return taken


async def take(store: Store, after: int, count: int) -> list[Change]:
    """The `count` changes after number `after`, read by a consumer that then stops."""
    changes = store.changes(after)
    try:
        return await first(changes, count)
    finally:
        aclose = getattr(changes, "aclose", None)
        if aclose is not None:
            await aclose()


def what(change: Change) -> tuple[ChangeKind, str | None]:
    """What a change is about: its kind, and the conversation or the business number it names."""
    if change.kind is ChangeKind.TEMPLATES:
        return change.kind, change.business_number_id
    return change.kind, change.conversation_id


async def announced(store: Store, write: Callable[[Store], object]) -> list[Change]:
    """The changes one write made, as a consumer reads them."""
    start = store.last_change()
    write(store)
    return await take(store, start, store.last_change() - start)
