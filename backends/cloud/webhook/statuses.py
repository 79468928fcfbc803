"""The statuses of our messages (§6.5): sent, delivered, read, played, failed."""

from __future__ import annotations

from backends.cloud.webhook.collect import Collector
from backends.cloud.webhook.problems import error_detail, first_error
from backends.cloud.webhook.untrusted import as_code, as_dict, as_ident, as_str
from backends.errors import failure_text
from desk.models import MessageStatus, Pricing, StatusChanged

_STATUSES = {
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "played": MessageStatus.PLAYED,
    "failed": MessageStatus.FAILED,
}


def parse_status(out: Collector, raw: object, number: str) -> None:
    """One `statuses[]` item (§6.5), with its `pricing` when it has one. The conversation is
    ignored: v24 dropped it, and the window is computed from the customer's messages, not from
    `expiration_timestamp`."""
    status = as_dict(raw)
    if status is None:
        out.malformed("a status that is not an object")
        return
    wamid = as_ident(status.get("id"))
    if status.get("recipient_type") == "group":
        out.unhandled(f"status of group message {wamid}")
        return
    customer_id = as_ident(status.get("recipient_id")) or as_ident(status.get("recipient_user_id"))
    at, _ = out.when(status.get("timestamp"), f"status of {wamid}")
    name = status.get("status")
    new = _STATUSES.get(name) if isinstance(name, str) else None
    if wamid is None or customer_id is None or at is None or new is None:
        out.malformed(f"status {wamid}: missing id, recipient, timestamp or a known status")
        return
    error_code = error_text = None
    error = first_error(status) if new is MessageStatus.FAILED else None
    if error is not None:
        error_code = as_code(error.get("code"))
        error_text = failure_text(error_code, error_detail(error)) if error_code is not None else None
    pricing = _pricing(status.get("pricing"))
    out.events.append(StatusChanged(number, customer_id, wamid, new, at, error_code, error_text, pricing))


def _pricing(raw: object) -> Pricing | None:
    """`pricing{billable, pricing_model, type, category}` (§6.5), or None when absent or says
    nothing; a field of the wrong kind reads as absent. Categories and types are lower-cased, as
    WhatsApp sends them (a template's own category is upper case: desk.pricing compares them)."""
    pricing = as_dict(raw)
    if pricing is None:
        return None
    billable = pricing.get("billable")
    category, model, kind = (_word(pricing.get(name)) for name in ("category", "pricing_model", "type"))
    if not isinstance(billable, bool):
        billable = None
    if billable is None and not (category or model or kind):
        return None
    return Pricing(billable, category.lower(), model.upper(), kind.lower())


def _word(value: object) -> str:
    """A short identifier-like string (WhatsApp's words are a few letters), else ""."""
    text = as_str(value)
    return text if text is not None and len(text) <= 64 and text.isprintable() else ""

