"""Domain objects <-> JSON-ready dicts: the one home of the store's on-disk encoding.

The journal, the conversation shards, the index and the template catalogue all use these.

Datetimes are stored as epoch seconds (a float, or an int when whole) and come back as aware UTC
datetimes. The round trip is exact to the microsecond for any date the desk will see. A naive
datetime is refused: it would silently be read as local time.

Documents leave out fields that hold their default, so shards stay small.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from desk.models import (
    Conversation,
    ConversationStatus,
    Customer,
    Direction,
    Location,
    Media,
    Message,
    MessageStatus,
    Pricing,
    Priority,
    Referral,
    Template,
    TemplateButton,
    TemplateStatus,
)

_UTC = timezone.utc
_fromtimestamp = datetime.fromtimestamp


# --- datetimes ---------------------------------------------------------------------------------------


def ts_to_doc(value: datetime | None) -> float | int | None:
    """An aware datetime as epoch seconds (int when whole, so WhatsApp's timestamps stay ints)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: the store keeps aware UTC datetimes only")
    if value.microsecond == 0:
        return int(value.timestamp())
    return value.timestamp()


def ts_from_doc(value: float | int | None) -> datetime | None:
    if value is None:
        return None
    return _fromtimestamp(value, _UTC)


# --- customers, media, locations ---------------------------------------------------------------------


def customer_to_doc(customer: Customer) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": customer.id, "name": customer.name}
    if customer.phone is not None:
        doc["phone"] = customer.phone
    if customer.username is not None:
        doc["username"] = customer.username
    if customer.country is not None:
        doc["country"] = customer.country
    return doc


def customer_from_doc(doc: dict[str, Any]) -> Customer:
    return Customer(
        id=doc["id"],
        name=doc.get("name", ""),
        phone=doc.get("phone"),
        username=doc.get("username"),
        country=doc.get("country"),
    )


_MEDIA_FIELDS = ("mime_type", "caption", "filename", "size", "media_id", "sha256", "path")


def media_to_doc(media: Media) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": media.kind}
    for name in _MEDIA_FIELDS:
        value = getattr(media, name)
        if value is not None:
            doc[name] = value
    return doc


def media_from_doc(doc: dict[str, Any]) -> Media:
    return Media(doc["kind"], **{name: doc.get(name) for name in _MEDIA_FIELDS})


def location_to_doc(location: Location) -> dict[str, Any]:
    doc: dict[str, Any] = {"latitude": location.latitude, "longitude": location.longitude}
    if location.name is not None:
        doc["name"] = location.name
    if location.address is not None:
        doc["address"] = location.address
    return doc


def location_from_doc(doc: dict[str, Any]) -> Location:
    return Location(doc["latitude"], doc["longitude"], doc.get("name"), doc.get("address"))


def pricing_to_doc(pricing: Pricing) -> dict[str, Any]:
    doc: dict[str, Any] = {name: value for name, value in
                           (("category", pricing.category), ("model", pricing.model), ("type", pricing.type)) if value}
    if pricing.billable is not None:
        doc["billable"] = pricing.billable
    return doc


def pricing_from_doc(doc: dict[str, Any]) -> Pricing:
    _object(doc, "pricing")
    billable = doc.get("billable")
    if billable is not None and not isinstance(billable, bool):
        raise TypeError("pricing.billable is not a boolean")
    return Pricing(billable, _str(doc, "category"), _str(doc, "model"), _str(doc, "type"))


_REFERRAL_FIELDS = ("source_url", "source_type", "source_id", "headline", "body", "media_type", "ctwa_clid")


def referral_to_doc(referral: Referral) -> dict[str, Any]:
    return {name: value for name in _REFERRAL_FIELDS if (value := getattr(referral, name)) is not None}


def referral_from_doc(doc: dict[str, Any]) -> Referral:
    _object(doc, "referral")
    values = {name: doc.get(name) for name in _REFERRAL_FIELDS}
    if any(v is not None and not isinstance(v, str) for v in values.values()):
        raise TypeError("a referral field is not a string")
    return Referral(**values)


def _object(doc: object, name: str) -> None:
    if not isinstance(doc, dict):
        raise TypeError(f"{name} is not an object")


def _str(doc: dict[str, Any], name: str) -> str:
    value = doc.get(name, "")
    if not isinstance(value, str):
        raise TypeError(f"{name} is not a string")
    return value


# --- messages ----------------------------------------------------------------------------------------

_DIRECTIONS = {d.value: d for d in Direction}
_STATUSES = {s.value: s for s in MessageStatus}
_CONVERSATION_STATUSES = {s.value: s for s in ConversationStatus}
_OPTIONAL_STR = ("reply_to", "reaction_to", "template", "error_text", "wamid", "agent", "replaces")


def message_to_doc(message: Message) -> dict[str, Any]:
    """A message without its conversation id (the shard or the journal record carries that)."""
    doc: dict[str, Any] = {
        "id": message.id,
        "direction": message.direction.value,
        "type": message.type,
        "timestamp": ts_to_doc(message.timestamp),
        "status": message.status.value,
    }
    if message.text:
        doc["text"] = message.text
    if message.media is not None:
        doc["media"] = media_to_doc(message.media)
    if message.location is not None:
        doc["location"] = location_to_doc(message.location)
    if message.contacts:
        doc["contacts"] = list(message.contacts)
    for name in _OPTIONAL_STR:
        value = getattr(message, name)
        if value is not None:
            doc[name] = value
    if message.template_values:
        doc["template_values"] = [list(pair) for pair in message.template_values]
    if message.error_code is not None:
        doc["error_code"] = message.error_code
    if message.status_at is not None:
        doc["status_at"] = ts_to_doc(message.status_at)
    if message.pricing is not None:
        doc["pricing"] = pricing_to_doc(message.pricing)
    if message.referral is not None:
        doc["referral"] = referral_to_doc(message.referral)
    return doc


def message_from_doc(doc: dict[str, Any], conversation_id: str) -> Message:
    get = doc.get
    media = get("media")
    location = get("location")
    status_at = get("status_at")
    pricing = get("pricing")
    referral = get("referral")
    return Message(
        id=doc["id"],
        conversation_id=conversation_id,
        direction=_DIRECTIONS[doc["direction"]],
        type=doc["type"],
        timestamp=_fromtimestamp(doc["timestamp"], _UTC),
        status=_STATUSES[doc["status"]],
        text=get("text", ""),
        media=media_from_doc(media) if media is not None else None,
        location=location_from_doc(location) if location is not None else None,
        contacts=tuple(get("contacts", ())),
        reply_to=get("reply_to"),
        reaction_to=get("reaction_to"),
        template=get("template"),
        template_values=tuple(tuple(pair) for pair in get("template_values", ())),
        error_code=get("error_code"),
        error_text=get("error_text"),
        wamid=get("wamid"),
        status_at=_fromtimestamp(status_at, _UTC) if status_at is not None else None,
        agent=get("agent"),
        replaces=get("replaces"),
        pricing=pricing_from_doc(pricing) if pricing is not None else None,
        referral=referral_from_doc(referral) if referral is not None else None,
    )


def check_message_doc(doc: Any) -> None:
    """Raise what `message_from_doc` would on this doc, without building the Message (a shard is
    loaded for a lookup by id far more often than for its messages, and a damaged one must be
    found when it loads, not when a message is first shown)."""
    if not isinstance(doc, dict):
        raise TypeError("a message is not an object")
    if (
        not isinstance(doc["id"], str)
        or not isinstance(doc["type"], str)
        or doc["direction"] not in _DIRECTIONS
        or doc["status"] not in _STATUSES
        or not isinstance(doc["timestamp"], (int, float))
    ):
        raise ValueError(f"message {doc.get('id')!r} has a field of the wrong kind")
    if "media" in doc or "location" in doc or "status_at" in doc:  # rare: build it and see
        message_from_doc(doc, "")
    if "pricing" in doc:  # on most of ours: checked alone
        pricing_from_doc(doc["pricing"])
    if "referral" in doc:
        referral_from_doc(doc["referral"])


def message_status(value: str) -> MessageStatus:
    return _STATUSES[value]


def conversation_status(value: str) -> ConversationStatus:
    return _CONVERSATION_STATUSES[value]


# --- templates ---------------------------------------------------------------------------------------


def template_to_doc(template: Template) -> dict[str, Any]:
    status = template.status.value if isinstance(template.status, TemplateStatus) else template.status
    doc: dict[str, Any] = {
        "name": template.name,
        "language": template.language,
        "category": template.category,
        "status": status,
        "business_number_id": template.business_number_id,
        "body": template.body,
        "parameter_format": template.parameter_format,
        "id": template.id,
    }
    if template.header is not None:
        doc["header"] = template.header
    if template.footer is not None:
        doc["footer"] = template.footer
    if template.buttons:
        doc["buttons"] = [[b.type, b.text] for b in template.buttons]
    return doc


def template_from_doc(doc: dict[str, Any]) -> Template:
    return Template(
        name=doc["name"],
        language=doc["language"],
        category=doc["category"],
        status=TemplateStatus.parse(doc["status"]),
        business_number_id=doc["business_number_id"],
        body=doc["body"],
        header=doc.get("header"),
        footer=doc.get("footer"),
        buttons=tuple(TemplateButton(t, x) for t, x in doc.get("buttons", ())),
        parameter_format=doc.get("parameter_format", "POSITIONAL"),
        id=doc.get("id", ""),
    )


# --- conversation summaries (the index) --------------------------------------------------------------
#
# One positional row per conversation: the index holds 100k of them and is parsed at every start,
# so a row is as few Python objects as possible: no keys, the business number and customer id left
# out (None) when the conversation id spells them, statuses and directions as small ints. Append new
# fields at the end only; a shorter row reads the missing fields as their defaults.

ROW_FIELDS = (
    "id",
    "customer_name",
    "customer_phone",
    "customer_username",
    "customer_country",
    "status",  # 0 open, 1 resolved, 2 pending, 3 snoozed
    "last_inbound_at",
    "last_message_at",
    "preview",
    "preview_direction",  # None, 0 in, 1 out
    "unread",
    "waiting_since",
    "first_reply_at",
    "last_reply_at",
    "message_count",
    "business_number_id",  # None: the part of the id before the first "~"
    "customer_id",  # None: the part of the id after the first "~"
    "undelivered",  # None (older rows): False
    "assignee",  # None: nobody (and older rows)
    "priority",  # None: normal, else 0 low, 2 high, 3 urgent
    "labels",  # None: none, else a list of strings
    "snoozed_until",
    "opened_at",
    "resolved_at",
    "language",
)
_ROW_LEN = len(ROW_FIELDS)
_STATUS_CODE = {
    ConversationStatus.OPEN: 0, ConversationStatus.RESOLVED: 1, ConversationStatus.PENDING: 2, ConversationStatus.SNOOZED: 3
}
_STATUS_OF_CODE = {code: status for status, code in _STATUS_CODE.items()}
_PRIORITY_CODE = {Priority.LOW: 0, Priority.NORMAL: None, Priority.HIGH: 2, Priority.URGENT: 3}
_PRIORITY_OF_CODE = {code: priority for priority, code in _PRIORITY_CODE.items()}
_DIRECTION_CODE = {None: None, Direction.INBOUND: 0, Direction.OUTBOUND: 1}
_DIRECTION_OF_CODE = {None: None, 0: Direction.INBOUND, 1: Direction.OUTBOUND}


def conversation_to_row(c: Conversation) -> list[Any]:
    customer = c.customer
    bn: str | None = c.business_number_id
    customer_id: str | None = customer.id
    if "~" not in c.business_number_id and c.id == f"{bn}~{customer_id}":
        bn = customer_id = None
    return [
        c.id,
        customer.name,
        customer.phone,
        customer.username,
        customer.country,
        _STATUS_CODE[c.status],
        ts_to_doc(c.last_inbound_at),
        ts_to_doc(c.last_message_at),
        c.preview,
        _DIRECTION_CODE[c.preview_direction],
        c.unread,
        ts_to_doc(c.waiting_since),
        ts_to_doc(c.first_reply_at),
        ts_to_doc(c.last_reply_at),
        c.message_count,
        bn,
        customer_id,
        c.undelivered,
        c.assignee,
        _PRIORITY_CODE[c.priority],
        list(c.labels) if c.labels else None,
        ts_to_doc(c.snoozed_until),
        ts_to_doc(c.opened_at),
        ts_to_doc(c.resolved_at),
        c.language,
    ]


def conversation_from_row(row: list[Any]) -> Conversation:
    if len(row) != _ROW_LEN:
        row = (list(row) + [None] * _ROW_LEN)[:_ROW_LEN]
    (
        cid,
        name,
        phone,
        username,
        country,
        status,
        last_inbound_at,
        last_message_at,
        preview,
        preview_direction,
        unread,
        waiting_since,
        first_reply_at,
        last_reply_at,
        message_count,
        bn,
        customer_id,
        undelivered,
        assignee,
        priority,
        labels,
        snoozed_until,
        opened_at,
        resolved_at,
        language,
    ) = row
    if bn is None or customer_id is None:
        bn, _, customer_id = cid.partition("~")
    ft = _fromtimestamp
    utc = _UTC
    return Conversation(
        cid,
        bn,
        Customer(customer_id, name or "", phone, username, country),
        _STATUS_OF_CODE.get(status, ConversationStatus.OPEN),
        None if last_inbound_at is None else ft(last_inbound_at, utc),
        None if last_message_at is None else ft(last_message_at, utc),
        preview or "",
        _DIRECTION_OF_CODE.get(preview_direction),
        unread or 0,
        None if waiting_since is None else ft(waiting_since, utc),
        None if first_reply_at is None else ft(first_reply_at, utc),
        None if last_reply_at is None else ft(last_reply_at, utc),
        message_count or 0,
        bool(undelivered),
        assignee,
        _PRIORITY_OF_CODE.get(priority, Priority.NORMAL),
        tuple(labels) if labels else (),
        None if snoozed_until is None else ft(snoozed_until, utc),
        None if opened_at is None else ft(opened_at, utc),
        None if resolved_at is None else ft(resolved_at, utc),
        language,
    )
