"""WhatsApp webhook bodies -> domain events. Pure: no I/O, no clock (the caller gives `now`), and it
never raises.

Facts from ../shared/reference/whatsapp-cloud-api.md: §6.3 (envelope), §6.4 (inbound messages),
§6.5 (statuses), §6.6 (errors), §4.2 (template statuses), §11 (BSUIDs and usernames).

Why it never raises: the HTTP handler must answer 200 quickly whatever arrives, because Meta retries
anything else for up to 7 days (§6.7) and one bad message would hold back every good one in the same
body. So each part (entry, change, message, status) is read on its own; a part that cannot be
understood is logged, counted in `Parsed.skipped`, and the rest is still parsed. A message is either
complete (id, sender, timestamp: what the store needs to keep it exactly once) or not produced at
all. Logs name ids and reasons, never what a customer wrote. JSON that orjson refuses but the
standard library reads (a lone surrogate escape in a name) is still parsed, the bad string
neutralised (backends/cloud/jsonload.py).

A timestamp more than FUTURE_LIMIT after `now` (a sender's clock set wrong, or a forged date) is
taken as `now` and flagged: a warning in the log, and for a message a note before its text giving
the date it claimed. A message dated year 3000 would otherwise hold its 24-hour window open for
ever (desk/window.py counts a future time as now, every time it looks).

Usage:

    parsed = parse_body(raw_request_bytes, now)  # or parse_webhook(already_decoded_dict, now)
    store.apply_many(parsed.events)             # MessageReceived and StatusChanged, payload order
    parsed.template_updates, parsed.problems    # for the template catalogue and the status bar

Not supported yet, and counted as skipped: groups (group_* fields, messages carrying `group_id`,
statuses with `recipient_type: "group"`) — turning a group message into a private conversation would
make an agent answer one member privately — and every subscribed field other than `messages`,
`message_template_status_update` and the account-level restrictions of `account_update`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sized
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from backends.cloud.jsonload import loads
from backends.errors import describe, failure_text
from desk.clock import utc
from desk.models import (
    Customer,
    Direction,
    Event,
    Location,
    Media,
    Message,
    MessageReceived,
    MessageStatus,
    StatusChanged,
    conversation_id,
)

log = logging.getLogger(__name__)

__all__ = ["FUTURE_LIMIT", "Parsed", "Problem", "TemplateUpdate", "parse_body", "parse_webhook"]

FUTURE_LIMIT = timedelta(days=1)
"""How far ahead of now a WhatsApp timestamp may be before it is taken as now (and flagged)."""


# --- what comes out ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TemplateUpdate:
    """A template's review status changed (field `message_template_status_update`, §4.2)."""

    template_id: str
    name: str
    language: str
    """Normalised to the list API's spelling: "en-US" -> "en_US" (Meta's webhook uses a hyphen)."""
    status: str
    """As WhatsApp spells it: APPROVED, REJECTED, PAUSED, DISABLED, FLAGGED, ... (see
    desk.models.TemplateStatus.parse for the ones the desk knows)."""
    reason: str | None
    """Why (rejection reason, pause description); None when WhatsApp gives none or says "NONE"."""
    at: datetime | None
    """The entry's `time`, when it has a valid one."""


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with the account or the app, not with one message: `value.errors[]` (§6.6)
    and account restrictions, violations and bans (`account_update`)."""

    code: int
    sentence: str
    """backends.errors.describe(code): the same sentence an HTTP error with that code gets."""
    details: str
    business_number_id: str | None
    """The phone_number_id it concerns; None for the whole account."""


@dataclass(frozen=True, slots=True)
class Parsed:
    events: list[Event] = field(default_factory=list)
    """MessageReceived and StatusChanged, in payload order (which is not time order: §6.7)."""
    template_updates: list[TemplateUpdate] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: int = 0
    """Parts not turned into anything: malformed, or of a kind the desk does not handle."""


# --- entry points -----------------------------------------------------------------------------------


def parse_body(body: bytes, now: datetime | None = None) -> Parsed:
    """Decode a raw webhook body and parse it. Invalid JSON gives an empty Parsed with skipped=1.
    With `now`, timestamps far in the future are taken as now (see the module docstring).

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
    out = _Out(now)
    body = _dict(payload)
    if body is None:
        out.malformed("the body is not an object")
        return out.parsed()
    kind = body.get("object")
    if kind is not None and kind != "whatsapp_business_account":
        out.unhandled(f"object {kind!r}")
        return out.parsed()
    entries = _list(body.get("entry"))
    if entries is None:
        out.malformed("no entry list")
        return out.parsed()
    for entry in entries:
        _guarded(out, "entry", _parse_entry, out, entry)
    return out.parsed()


# --- the collector ----------------------------------------------------------------------------------


class _Out:
    """What one body produced so far."""

    def __init__(self, now: datetime | None) -> None:
        self.now = now
        self.events: list[Event] = []
        self.template_updates: list[TemplateUpdate] = []
        self.problems: list[Problem] = []
        self.skipped = 0

    def when(self, value: object, what: str) -> tuple[datetime | None, datetime | None]:
        """(the time to use, the time claimed when that was too far ahead and `now` is used)."""
        at = _time(value)
        if at is None or self.now is None or at <= self.now + FUTURE_LIMIT:
            return at, None
        log.warning("webhook: %s is dated %s, more than a day ahead; taken as received now", what, at.isoformat())
        return self.now, at

    def malformed(self, what: str) -> None:
        """A part we should understand but cannot: worth a warning (Meta changed something?)."""
        self.skipped += 1
        log.warning("webhook: skipped %s", what)

    def unhandled(self, what: str) -> None:
        """A well-formed part of a kind the desk does not use (groups, other fields)."""
        self.skipped += 1
        log.info("webhook: ignored %s", what)

    def parsed(self) -> Parsed:
        return Parsed(self.events, self.template_updates, self.problems, self.skipped)


_SAFETY_NET = True
"""Catch an unexpected exception per part (count it, log it) instead of failing the whole body.
The tests turn this off so that a bug shows up as a failure, not as a quiet skip."""


def _guarded(out: _Out, what: str, fn: Callable[..., None], *args: Any) -> None:
    if not _SAFETY_NET:
        fn(*args)
        return
    try:
        fn(*args)
    except Exception:  # noqa: BLE001 - the last line of defence; see _SAFETY_NET
        out.skipped += 1
        log.exception("webhook: a %s could not be parsed", what)


# --- entries and changes ----------------------------------------------------------------------------


def _parse_entry(out: _Out, raw: object) -> None:
    entry = _dict(raw)
    changes = _list(entry.get("changes")) if entry is not None else None
    if entry is None or changes is None:
        out.malformed("an entry without a changes list")
        return
    for change in changes:
        _guarded(out, "change", _parse_change, out, entry, change)


def _parse_change(out: _Out, entry: dict[str, Any], raw: object) -> None:
    change = _dict(raw)
    value = _dict(change.get("value")) if change is not None else None
    if change is None or value is None:
        out.malformed("a change without a value object")
        return
    name = change.get("field")
    handler = _FIELDS.get(name) if isinstance(name, str) else None
    if handler is None:
        out.unhandled(f"field {name!r}")
        return
    handler(out, entry, value)


def _messages_change(out: _Out, entry: dict[str, Any], value: dict[str, Any]) -> None:
    """Field `messages`: inbound messages, statuses of ours, and system-level errors (§6.3).

    Keys are walked in the payload's order, so a value holding both messages and statuses keeps it.
    """
    metadata = _dict(value.get("metadata")) or {}
    number = _ident(metadata.get("phone_number_id"))
    contacts = [c for c in _list(value.get("contacts")) or [] if isinstance(c, dict)]
    unroutable = False
    for key, items in value.items():
        if key not in ("messages", "statuses", "errors"):
            continue
        parts = _list(items)
        if parts is None:
            out.malformed(f"{key} is not a list")
            continue
        if key == "errors":
            for raw in parts:
                _guarded(out, "error", _parse_problem, out, raw, number)
        elif number is None:
            unroutable = True  # counted once below: the change, not each of its parts
        elif key == "messages":
            for raw in parts:
                _guarded(out, "message", _parse_message, out, raw, number, contacts)
        else:
            for raw in parts:
                _guarded(out, "status", _parse_status, out, raw, number)
    if unroutable:
        out.malformed("a change without metadata.phone_number_id (cannot route it)")


def _template_status_change(out: _Out, entry: dict[str, Any], value: dict[str, Any]) -> None:
    """Field `message_template_status_update` (§4.2): one template's review status."""
    name = _ident(value.get("message_template_name"))
    status = _ident(value.get("event"))
    if name is None or status is None:
        out.malformed("a template status update without a name or an event")
        return
    language = _ident(value.get("message_template_language")) or ""
    out.template_updates.append(
        TemplateUpdate(
            template_id=_ident(value.get("message_template_id")) or "",
            name=name,
            language=language.replace("-", "_"),
            status=status,
            reason=_template_reason(value),
            at=out.when(entry.get("time"), f"template {name} update")[0],
        )
    )


def _template_reason(value: dict[str, Any]) -> str | None:
    """The reason, or for a rejection without one the recommendation, or for a pause its
    description. Meta says "NONE" when there is no reason: that is None here."""
    reason = _str(value.get("reason"))
    if reason is not None and reason.upper() == "NONE":
        reason = None
    rejection = _dict(value.get("rejection_info")) or {}
    other = _dict(value.get("other_info")) or {}
    candidates = (
        reason,
        _str(rejection.get("reason")),
        _str(rejection.get("recommendation")),
        _str(other.get("description")),
        _str(other.get("title")),
    )
    return next((c for c in candidates if c), None)


_ACCOUNT_PROBLEMS = {"ACCOUNT_RESTRICTION", "ACCOUNT_VIOLATION", "DISABLED_UPDATE"}
"""account_update events that stop the desk from sending; the rest (partners, pricing tiers, ...)
are none of an agent's business."""


def _account_change(out: _Out, entry: dict[str, Any], value: dict[str, Any]) -> None:
    """Field `account_update`: a restriction, violation or ban becomes a Problem with code 368
    (the error code WhatsApp gives sends from a restricted account), the rest is ignored."""
    event = _str(value.get("event"))
    if event not in _ACCOUNT_PROBLEMS:
        out.unhandled(f"account_update {event!r}")
        return
    ban = _dict(value.get("ban_info")) or {}
    if event == "DISABLED_UPDATE" and _str(ban.get("waba_ban_state")) == "REINSTATE":
        out.unhandled("account_update DISABLED_UPDATE (reinstated)")
        return
    notes = [event]
    for restriction in _list(value.get("restriction_info")) or []:
        kind = _str((_dict(restriction) or {}).get("restriction_type"))
        if kind:
            notes.append(kind)
    violation = _str((_dict(value.get("violation_info")) or {}).get("violation_type"))
    if violation:
        notes.append(violation)
    state = _str(ban.get("waba_ban_state"))
    if state:
        notes.append(state)
    out.problems.append(Problem(368, describe(368), ": ".join(notes), None))


def _echoes_change(out: _Out, entry: dict[str, Any], value: dict[str, Any]) -> None:
    """Field `smb_message_echoes`: messages the business sent from elsewhere (the WhatsApp Business
    app, or before the desk was there), from the business to the customer: ours, already sent."""
    number = _ident((_dict(value.get("metadata")) or {}).get("phone_number_id"))
    echoes = _list(value.get("message_echoes"))
    if number is None or echoes is None:
        out.malformed("an echo change without metadata.phone_number_id or message_echoes")
        return
    contacts = [c for c in _list(value.get("contacts")) or [] if isinstance(c, dict)]
    for raw in echoes:
        _guarded(out, "echo", _parse_message, out, raw, number, contacts, True)


_FIELDS: dict[str, Callable[[_Out, dict[str, Any], dict[str, Any]], None]] = {
    "messages": _messages_change,
    "smb_message_echoes": _echoes_change,
    "message_template_status_update": _template_status_change,
    "account_update": _account_change,
}


# --- errors -----------------------------------------------------------------------------------------


def _parse_problem(out: _Out, raw: object, number: str | None) -> None:
    error = _dict(raw)
    code = _code(error.get("code")) if error is not None else None
    if error is None or code is None:
        out.malformed("an error without a code")
        return
    out.problems.append(Problem(code, describe(code), _error_details(error), number))


def _error_details(error: dict[str, Any]) -> str:
    return _detail(error) or _str(error.get("message")) or _str(error.get("title")) or ""


def _detail(error: dict[str, Any]) -> str:
    """WhatsApp's own detail of an error (`error_data.details`), shown beside our sentence."""
    return _str((_dict(error.get("error_data")) or {}).get("details")) or ""


def _first_error(item: dict[str, Any]) -> dict[str, Any] | None:
    """`errors[0]` of a message or status, when it is an object with a usable code."""
    errors = _list(item.get("errors")) or []
    first = _dict(errors[0]) if errors else None
    if first is None or _code(first.get("code")) is None:
        return None
    return first


# --- statuses ---------------------------------------------------------------------------------------

_STATUSES = {
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "played": MessageStatus.PLAYED,
    "failed": MessageStatus.FAILED,
}


def _parse_status(out: _Out, raw: object, number: str) -> None:
    """One `statuses[]` item (§6.5). Conversation and pricing are ignored: v24 dropped them, and
    the window is computed from the customer's messages, not from `expiration_timestamp`."""
    status = _dict(raw)
    if status is None:
        out.malformed("a status that is not an object")
        return
    wamid = _ident(status.get("id"))
    if status.get("recipient_type") == "group":
        out.unhandled(f"status of group message {wamid}")
        return
    customer_id = _ident(status.get("recipient_id")) or _ident(status.get("recipient_user_id"))
    at, _ = out.when(status.get("timestamp"), f"status of {wamid}")
    name = status.get("status")
    new = _STATUSES.get(name) if isinstance(name, str) else None
    if wamid is None or customer_id is None or at is None or new is None:
        out.malformed(f"status {wamid}: missing id, recipient, timestamp or a known status")
        return
    error_code = error_text = None
    error = _first_error(status) if new is MessageStatus.FAILED else None
    if error is not None:
        error_code = _code(error.get("code"))
        error_text = failure_text(error_code, _detail(error)) if error_code is not None else None
    out.events.append(StatusChanged(number, customer_id, wamid, new, at, error_code, error_text))


# --- inbound messages -------------------------------------------------------------------------------


class _Body(NamedTuple):
    """What a message carries, by type; the common fields are filled in by _parse_message."""

    type: str
    text: str = ""
    media: Media | None = None
    location: Location | None = None
    contacts: tuple[str, ...] = ()
    reaction_to: str | None = None


def _parse_message(out: _Out, raw: object, number: str, contacts: list[dict[str, Any]], echo: bool = False) -> None:
    """One `messages[]` item (§6.4), or with `echo` one of ours from `message_echoes[]`: every type
    is kept (unknown ones as what they say they are), but a message without id, customer or
    timestamp is not produced at all."""
    msg = _dict(raw)
    if msg is None:
        out.malformed("a message that is not an object")
        return
    wamid = _ident(msg.get("id"))
    if msg.get("group_id") is not None:
        out.unhandled(f"group message {wamid}")
        return
    # An echo goes from the business to the customer: the customer is its recipient.
    who = {"from": msg.get("to"), "from_user_id": msg.get("to_user_id")} if echo else msg
    customer = _customer(who, contacts)
    at, claimed = out.when(msg.get("timestamp"), f"message {wamid}")
    if wamid is None or customer is None or at is None:
        out.malformed(f"message {wamid}: missing id, sender or timestamp")
        return
    kind = _str(msg.get("type")) or "unsupported"
    body = _BUILDERS.get(kind, _unknown)(msg, kind)
    error = _first_error(msg)
    error_code = _code(error.get("code")) if error is not None else None
    context = _dict(msg.get("context")) or {}
    message = Message(
        id=wamid,
        conversation_id=conversation_id(number, customer.id),
        direction=Direction.OUTBOUND if echo else Direction.INBOUND,
        type=body.type,
        timestamp=at,
        status=MessageStatus.SENT if echo else MessageStatus.RECEIVED,
        wamid=wamid if echo else None,
        text=_with_notes(body.text, msg, context, claimed),
        media=body.media,
        location=body.location,
        contacts=body.contacts,
        reply_to=_ident(context.get("id")),
        reaction_to=body.reaction_to,
        error_code=error_code,
        error_text=failure_text(error_code, _detail(error)) if error is not None and error_code is not None else None,
    )
    out.events.append(MessageReceived(number, customer, message))


def _customer(msg: dict[str, Any], contacts: list[dict[str, Any]]) -> Customer | None:
    """The sender, completed from `value.contacts[]` (§11): keyed by wa_id when WhatsApp gives a
    phone number, else by the business-scoped user id. None when the message names no sender."""
    wa_id = _ident(msg.get("from"))
    user_id = _ident(msg.get("from_user_id"))
    if wa_id is None and user_id is None:
        return None
    contact = next(
        (
            c
            for c in contacts
            if (wa_id is not None and _ident(c.get("wa_id")) == wa_id)
            or (user_id is not None and _ident(c.get("user_id")) == user_id)
        ),
        {},
    )
    wa_id = wa_id or _ident(contact.get("wa_id"))
    user_id = user_id or _ident(contact.get("user_id"))
    profile = _dict(contact.get("profile")) or {}
    username = _ident(profile.get("username"))
    phone = f"+{wa_id.lstrip('+')}" if wa_id is not None else None
    customer_id = wa_id or user_id
    assert customer_id is not None  # one of them was set above
    name = _ident(profile.get("name")) or username or phone or customer_id
    return Customer(id=customer_id, name=name, phone=phone, username=username)


def _with_notes(text: str, msg: dict[str, Any], context: dict[str, Any], claimed: datetime | None = None) -> str:
    """Short bracketed notes before the text for what an agent should know about where it came
    from: a forward, a click-to-WhatsApp ad (§7: it opens a free-entry-point window), a product,
    a date in the future that was replaced by the time it arrived."""
    notes = []
    if claimed is not None:
        notes.append(f"[dated {claimed:%Y-%m-%d %H:%M} UTC by a clock ahead; shown as received]")
    if context.get("frequently_forwarded") is True:
        notes.append("[forwarded many times]")
    elif context.get("forwarded") is True:
        notes.append("[forwarded]")
    product = _dict(context.get("referred_product"))
    if product is not None:
        notes.append(f"[about product {_ident(product.get('product_retailer_id')) or '?'}]")
    referral = _dict(msg.get("referral"))
    if referral is not None:
        what = _str(referral.get("headline")) or _str(referral.get("body"))
        what = what or _str(referral.get("source_url")) or "an ad"
        notes.append(f"[from ad: {what}]")
    return " ".join([*notes, text]).strip() if notes else text


# --- one builder per type ---------------------------------------------------------------------------


def _text(msg: dict[str, Any], kind: str) -> _Body:
    return _Body(kind, _str(_part(msg, kind).get("body")) or "")


def _media(msg: dict[str, Any], kind: str) -> _Body:
    """image, video, audio, document, sticker. An audio with `voice: true` is a voice note: the
    desk shows those differently (a customer talking, not a file)."""
    part = _part(msg, kind)
    if kind == "audio" and part.get("voice") is True:
        kind = "voice"
    media = Media(
        kind=kind,
        mime_type=_str(part.get("mime_type")),
        caption=_str(part.get("caption")),
        filename=_str(part.get("filename")),
        size=None,  # webhooks do not say; the media URL lookup does
        media_id=_ident(part.get("id")),
        sha256=_str(part.get("sha256")),
    )
    return _Body(kind, media.caption or media.filename or "", media=media)


def _location(msg: dict[str, Any], kind: str) -> _Body:
    part = _part(msg, kind)
    lat, lon = _number(part.get("latitude")), _number(part.get("longitude"))
    name, address = _str(part.get("name")), _str(part.get("address"))
    described = ", ".join(p for p in (name, address) if p)
    if lat is None or lon is None:  # no point to show: keep whatever words came with it
        return _Body(kind, described or "location")
    location = Location(lat, lon, name, address)
    return _Body(kind, described or f"{lat:.5f}, {lon:.5f}", location=location)


def _contacts(msg: dict[str, Any], kind: str) -> _Body:
    """Shared contact cards, each as "Formatted Name +phone[, +phone]"."""
    lines, names = [], []
    for card in _list(msg.get(kind)) or []:
        card = _dict(card)
        if card is None:
            continue
        name_part = _dict(card.get("name")) or {}
        name = _str(name_part.get("formatted_name")) or " ".join(
            p for p in (_str(name_part.get("first_name")), _str(name_part.get("last_name"))) if p
        )
        name = name or "Contact"
        phones = []
        for phone in _list(card.get("phones")) or []:
            phone = _dict(phone) or {}
            number = _str(phone.get("phone"))
            wa_id = _ident(phone.get("wa_id"))
            if number or wa_id:
                phones.append(number or f"+{wa_id}")
        lines.append(f"{name} {', '.join(phones)}".strip())
        names.append(name)
    return _Body(kind, f"Contact: {', '.join(names)}" if names else "Contact", contacts=tuple(lines))


def _interactive(msg: dict[str, Any], kind: str) -> _Body:
    """The customer tapped a reply button, picked from a list, or completed a Flow (nfm_reply)."""
    part = _part(msg, kind)
    sub = _str(part.get("type")) or ""
    reply = _dict(part.get(sub)) or {}
    if sub == "nfm_reply":
        said = [p for p in (_str(reply.get("name")), _str(reply.get("body"))) if p]
        return _Body(kind, ": ".join(said) or "Flow response")
    title = _str(reply.get("title"))
    description = _str(reply.get("description"))
    if title and description:
        return _Body(kind, f"{title} — {description}")
    return _Body(kind, title or description or "interactive message")


def _button(msg: dict[str, Any], kind: str) -> _Body:
    """A tap on a template's quick-reply button; context.id is the template message."""
    part = _part(msg, kind)
    return _Body(kind, _str(part.get("text")) or _str(part.get("payload")) or "")


def _reaction(msg: dict[str, Any], kind: str) -> _Body:
    """An emoji on one of the conversation's messages; no emoji means the reaction was removed."""
    part = _part(msg, kind)
    return _Body(kind, _str(part.get("emoji")) or "", reaction_to=_ident(part.get("message_id")))


def _order(msg: dict[str, Any], kind: str) -> _Body:
    """A cart sent from the catalogue: "order: 3 items, 85.00 USD (catalog 1948...)"."""
    part = _part(msg, kind)
    items = [i for i in _list(part.get("product_items")) or [] if isinstance(i, dict)]
    quantities = [_count(i.get("quantity")) for i in items]
    count = sum(q if q is not None else 1 for q in quantities)
    summary = f"order: {count} item{'' if count == 1 else 's'}"
    total = _order_total(items, quantities)
    if total is not None:
        summary += f", {total}"
    catalog = _ident(part.get("catalog_id"))
    if catalog:
        summary += f" (catalog {catalog})"
    note = _str(part.get("text"))
    return _Body(kind, f"{summary} — {note}" if note else summary)


def _order_total(items: list[dict[str, Any]], quantities: list[int | None]) -> str | None:
    """The cart's total, only when every line has a quantity and a price in one currency."""
    currencies = {_str(i.get("currency")) for i in items}
    if not items or len(currencies) != 1 or None in currencies or None in quantities:
        return None
    prices = [_number(i.get("item_price")) for i in items]
    if None in prices:
        return None
    total = sum(q * p for q, p in zip(quantities, prices) if q is not None and p is not None)  # (no None left: returned above)
    return f"{total:,.2f} {currencies.pop()}"


def _system(msg: dict[str, Any], kind: str) -> _Body:
    """A number change or identity change. System messages come without `contacts` (§6.4)."""
    return _Body(kind, _str(_part(msg, kind).get("body")) or "system message")


def _unknown(msg: dict[str, Any], kind: str) -> _Body:
    """`unsupported`, or a type WhatsApp added after this was written: kept, never dropped, so the
    agent sees that the customer sent something. The error code (131051) is set by the caller."""
    error = _first_error(msg) or {}
    detail = _error_details(error) if error else ""
    return _Body(kind, detail or f"{kind} message")


_BUILDERS: dict[str, Callable[[dict[str, Any], str], _Body]] = {
    "text": _text,
    "image": _media,
    "video": _media,
    "audio": _media,
    "document": _media,
    "sticker": _media,
    "location": _location,
    "contacts": _contacts,
    "interactive": _interactive,
    "button": _button,
    "reaction": _reaction,
    "order": _order,
    "system": _system,
}


# --- reading untrusted JSON -------------------------------------------------------------------------
# Every access goes through these: a wrong type reads as "absent", never as an exception.


def _dict(value: object) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _list(value: object) -> list[Any] | None:
    return value if isinstance(value, list) else None


def _part(msg: dict[str, Any], kind: str) -> dict[str, Any]:
    """The type-specific object (`msg["image"]` for an image), or {} when missing or mistyped."""
    return _dict(msg.get(kind)) or {}


def _str(value: object) -> str | None:
    """A non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def _ident(value: object) -> str | None:
    """An identifier: a non-blank string, or an integer (Meta sends some ids as numbers)."""
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _number(value: object) -> float | None:
    """A finite number (bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value) if abs(value) < 1e300 else math.inf
    return number if math.isfinite(number) else None


def _count(value: object) -> int | None:
    """A quantity: a non-negative integer, possibly as a string."""
    if isinstance(value, str) and _digits(value) and len(value) < 10:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**9:
        return value
    return None


def _code(value: object) -> int | None:
    """A WhatsApp error code: an integer, possibly as a string, in a sane range (the store keeps
    it as a 64-bit integer)."""
    if isinstance(value, str) and _digits(value) and len(value) < 12:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**11:
        return value
    return None


def _time(value: object) -> datetime | None:
    """WhatsApp's epoch seconds (a string in messages and statuses, an int in entry.time)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not _digits(value) or len(value) > 12:
            return None
        value = int(value)
    if not isinstance(value, int) or not 0 < value < 10**11:  # past year 5000: not a timestamp
        return None
    try:
        return utc(value)
    except (OverflowError, OSError, ValueError):
        return None


def _digits(value: str) -> bool:
    """ASCII digits only: str.isdecimal() also accepts "１７５" and "٣"."""
    return value.isascii() and value.isdigit()


def _length(body: object) -> str:
    try:
        return str(len(body)) if isinstance(body, Sized) else "?"
    except TypeError:
        return "?"
