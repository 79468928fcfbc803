"""Errors and account troubles: `value.errors[]` (§6.6), the restrictions, violations and bans of
`account_update`, and the `errors[0]` a message or status carries."""

from __future__ import annotations

from typing import Any

from backends.cloud.webhook.collect import Collector
from backends.cloud.webhook.results import Problem
from backends.cloud.webhook.untrusted import as_code, as_dict, as_list, as_str
from backends.errors import describe


def parse_problem(out: Collector, raw: object, number: str | None) -> None:
    """One `value.errors[]` item (§6.6): a Problem of the app or the account, not of a message."""
    error = as_dict(raw)
    code = as_code(error.get("code")) if error is not None else None
    if error is None or code is None:
        out.malformed("an error without a code")
        return
    out.problems.append(Problem(code, describe(code), error_details(error), number))


def error_details(error: dict[str, Any]) -> str:
    """The words of an error: WhatsApp's detail, else its message, else its title."""
    return error_detail(error) or as_str(error.get("message")) or as_str(error.get("title")) or ""


def error_detail(error: dict[str, Any]) -> str:
    """WhatsApp's own detail of an error (`error_data.details`), shown beside our sentence."""
    return as_str((as_dict(error.get("error_data")) or {}).get("details")) or ""


def first_error(item: dict[str, Any]) -> dict[str, Any] | None:
    """`errors[0]` of a message or status, when it is an object with a usable code."""
    errors = as_list(item.get("errors")) or []
    first = as_dict(errors[0]) if errors else None
    if first is None or as_code(first.get("code")) is None:
        return None
    return first


_ACCOUNT_PROBLEMS = {"ACCOUNT_RESTRICTION", "ACCOUNT_VIOLATION", "DISABLED_UPDATE"}
"""account_update events that stop the desk from sending; the rest (partners, pricing tiers, ...)
are none of an agent's business."""


def account_change(out: Collector, entry: dict[str, Any], value: dict[str, Any]) -> None:
    """Field `account_update`: a restriction, violation or ban becomes a Problem with code 368
    (the error code WhatsApp gives sends from a restricted account), the rest is ignored."""
    event = as_str(value.get("event"))
    if event not in _ACCOUNT_PROBLEMS:
        out.unhandled(f"account_update {event!r}")
        return
    ban = as_dict(value.get("ban_info")) or {}
    if event == "DISABLED_UPDATE" and as_str(ban.get("waba_ban_state")) == "REINSTATE":
        out.unhandled("account_update DISABLED_UPDATE (reinstated)")
        return
    notes = [event]
    for restriction in as_list(value.get("restriction_info")) or []:
        kind = as_str((as_dict(restriction) or {}).get("restriction_type"))
        if kind:
            notes.append(kind)
    violation = as_str((as_dict(value.get("violation_info")) or {}).get("violation_type"))
    if violation:
        notes.append(violation)
    state = as_str(ban.get("waba_ban_state"))
    if state:
        notes.append(state)
    out.problems.append(Problem(368, describe(368), ": ".join(notes), None))

