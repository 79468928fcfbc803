"""Each rule of desk.store.rules replaced by what a store without it would do: the contract suite
run with one of these in place must fail (test_rules_held.py), or the suite does not hold that rule.

The stand-in is put in place of `desk.store.rules.<name>` and of every module's own reference to the
same function (a `from desk.store.rules import name`), in the test process and in the owner process
the harness kills, when WADESK_KNOCK_OUT names the rule.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from desk.models import Customer, Message, MessageStatus, Pricing, Template
from desk.store import rules

ENV = "WADESK_KNOCK_OUT"


def _every_status_moves(old: MessageStatus, new: MessageStatus) -> bool:
    return new is not old  # the latest word wins, whatever it says


def _status_taken_as_it_comes(
    message: Message, status: MessageStatus, at: datetime | None, error_code: int | None, error_text: str | None,
    pricing: Pricing | None = None,
) -> Message | None:
    return message.with_status(status, at, error_code=error_code, error_text=error_text, pricing=pricing)


def _outbox_may_do_anything(old: MessageStatus, new: MessageStatus) -> bool:
    return True


def _report_taken_whole(
    message: Message,
    status: MessageStatus,
    at: datetime | None,
    wamid: str | None,
    error_code: int | None,
    error_text: str | None,
) -> Message | None:
    return message.with_status(status, at, wamid=wamid, error_code=error_code, error_text=error_text)


def _nothing_in_flight(messages: Iterable[Message]) -> bool:
    return False


def _newest_customer_whole(known: Customer, incoming: Customer) -> Customer:
    return incoming


def _stamped_now(now: datetime, transcript: Sequence[Message]) -> datetime:
    return now


def _labels_as_given(given: Iterable[str]) -> tuple[str, ...]:
    return tuple(given)


def _read_upto_newest(seen: datetime | None, newest: datetime | None) -> datetime | None:
    return newest


def _updates_are_the_catalogue(catalogue: Iterable[Template], updates: Iterable[Template]) -> tuple[Template, ...]:
    return tuple(updates)


def _every_news_a_full_sync(
    current: tuple[tuple[Template, ...], datetime | None], incoming: Sequence[Template], synced_at: datetime | None
) -> tuple[tuple[Template, ...], datetime | None]:
    return tuple(incoming), synced_at


KNOCK_OUTS: dict[str, Callable[..., Any]] = {
    "whatsapp_moves": _every_status_moves,
    "whatsapp_status": _status_taken_as_it_comes,
    "outbox_allows": _outbox_may_do_anything,
    "outbox_update": _report_taken_whole,
    "in_flight": _nothing_in_flight,
    "merge_customer": _newest_customer_whole,
    "status_at": _stamped_now,
    "labels": _labels_as_given,
    "read_upto": _read_upto_newest,
    "merge_templates": _updates_are_the_catalogue,
    "catalogue_after": _every_news_a_full_sync,
}
"""The public functions of desk.store.rules and each one's naive stand-in."""


def knock_out(name: str, setattr: Callable[[Any, str, Any], None] = setattr) -> list[str]:
    """Put the stand-in for rule `name` in its place everywhere it is referenced; returns where
    ("module.attribute"). `setattr` is the monkeypatch's when a test wants it undone."""
    if name not in KNOCK_OUTS:
        raise ValueError(f"{ENV}={name!r} names no rule with a knock-out; known: {', '.join(sorted(KNOCK_OUTS))}")
    import desk.store.tiny  # noqa: F401 - the stores' modules loaded, so that their references are found

    original = getattr(rules, name)
    stand_in = KNOCK_OUTS[name]
    patched = []
    for module_name, module in list(sys.modules.items()):
        try:
            names = [attr for attr, value in vars(module).items() if value is original]
        except TypeError:  # not a module with a namespace
            continue
        for attr in names:
            setattr(module, attr, stand_in)
            patched.append(f"{module_name}.{attr}")
    return patched


def knock_out_from_env() -> list[str]:
    """The knock-out WADESK_KNOCK_OUT names, if any."""
    name = os.environ.get(ENV)
    return knock_out(name) if name else []
