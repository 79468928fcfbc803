"""The walk of a webhook body (§6.3): the envelope, every entry, every change, and for each change
field its handler; `parse_body` and `parse_webhook` are the entry points."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sized
from datetime import datetime
from typing import Any

from backends.cloud.jsonload import loads
from backends.cloud.webhook.collect import Collector, guarded
from backends.cloud.webhook.messages import parse_message
from backends.cloud.webhook.problems import account_change, parse_problem
from backends.cloud.webhook.results import Parsed
from backends.cloud.webhook.statuses import parse_status
from backends.cloud.webhook.template_updates import template_status_change
from backends.cloud.webhook.untrusted import as_dict, as_ident, as_list

log = logging.getLogger(__name__)


def parse_body(body: bytes, now: datetime | None = None) -> Parsed:
    """Decode a raw webhook body and parse it. Invalid JSON gives an empty Parsed with skipped=1.
    With `now`, timestamps far in the future are taken as now (see the package docstring, backends/cloud/webhook/__init__.py).

    Verify the signature on these same bytes before calling this (§6.2).
    """
    try:
        payload = loads(body)
    except (ValueError, TypeError):  # orjson.JSONDecodeError is a ValueError
        log.warning("webhook body is not valid JSON (%s bytes)", _length(body))
        return Parsed(skipped=1)
    return parse_webhook(payload, now)


def parse_webhook(payload: object, now: datetime | None = None) -> Parsed:
    """Every entry, every change, every message and status of a decoded webhook body."""
    out = Collector(now)
    body = as_dict(payload)
    if body is None:
        out.malformed("the body is not an object")
        return out.parsed()
    kind = body.get("object")
    if kind is not None and kind != "whatsapp_business_account":
        out.unhandled(f"object {kind!r}")
        return out.parsed()
    entries = as_list(body.get("entry"))
    if entries is None:
        out.malformed("no entry list")
        return out.parsed()
    for entry in entries:
        guarded(out, "entry", _parse_entry, out, entry)
    return out.parsed()


# --- entries and changes ----------------------------------------------------------------------------


def _parse_entry(out: Collector, raw: object) -> None:
    entry = as_dict(raw)
    changes = as_list(entry.get("changes")) if entry is not None else None
    if entry is None or changes is None:
        out.malformed("an entry without a changes list")
        return
    for change in changes:
        guarded(out, "change", _parse_change, out, entry, change)


def _parse_change(out: Collector, entry: dict[str, Any], raw: object) -> None:
    change = as_dict(raw)
    value = as_dict(change.get("value")) if change is not None else None
    if change is None or value is None:
        out.malformed("a change without a value object")
        return
    name = change.get("field")
    handler = _FIELDS.get(name) if isinstance(name, str) else None
    if handler is None:
        out.unhandled(f"field {name!r}")
        return
    handler(out, entry, value)


def _messages_change(out: Collector, entry: dict[str, Any], value: dict[str, Any]) -> None:
    """Field `messages`: inbound messages, statuses of ours, and system-level errors (§6.3).

    Keys are walked in the payload's order, so a value holding both messages and statuses keeps it.
    """
    metadata = as_dict(value.get("metadata")) or {}
    number = as_ident(metadata.get("phone_number_id"))
    contacts = [c for c in as_list(value.get("contacts")) or [] if isinstance(c, dict)]
    unroutable = False
    for key, items in value.items():
        if key not in ("messages", "statuses", "errors"):
            continue
        parts = as_list(items)
        if parts is None:
            out.malformed(f"{key} is not a list")
            continue
        if key == "errors":
            for raw in parts:
                guarded(out, "error", parse_problem, out, raw, number)
        elif number is None:
            unroutable = True  # counted once below: the change, not each of its parts
        elif key == "messages":
            for raw in parts:
                guarded(out, "message", parse_message, out, raw, number, contacts)
        else:
            for raw in parts:
                guarded(out, "status", parse_status, out, raw, number)
    if unroutable:
        out.malformed("a change without metadata.phone_number_id (cannot route it)")


def _echoes_change(out: Collector, entry: dict[str, Any], value: dict[str, Any]) -> None:
    """Field `smb_message_echoes`: messages the business sent from elsewhere (the WhatsApp Business
    app, or before the desk was there), from the business to the customer: ours, already sent."""
    number = as_ident((as_dict(value.get("metadata")) or {}).get("phone_number_id"))
    echoes = as_list(value.get("message_echoes"))
    if number is None or echoes is None:
        out.malformed("an echo change without metadata.phone_number_id or message_echoes")
        return
    contacts = [c for c in as_list(value.get("contacts")) or [] if isinstance(c, dict)]
    for raw in echoes:
        guarded(out, "echo", parse_message, out, raw, number, contacts, True)


_FIELDS: dict[str, Callable[[Collector, dict[str, Any], dict[str, Any]], None]] = {
    "messages": _messages_change,
    "smb_message_echoes": _echoes_change,
    "message_template_status_update": template_status_change,
    "account_update": account_change,
}


def _length(body: object) -> str:
    try:
        return str(len(body)) if isinstance(body, Sized) else "?"
    except TypeError:
        return "?"
