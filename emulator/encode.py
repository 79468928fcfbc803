"""Domain events -> WhatsApp webhook bodies: the inverse of backends/cloud/webhook/. Pure, no I/O.

The emulator (emulator/server.py) uses this to turn what the mock's Simulation does into what Meta
would POST, and tests use it to make webhooks from events. Shapes follow Meta's examples
(tests/fixtures/meta/webhook-examples.json) and ../shared/reference/whatsapp-cloud-api.md §6:

- `webhook_for(events)`: one body, one entry (the WABA), one change per (phone_number_id, field).
  A customer's message goes in `value.messages[]` with the sender in `value.contacts[]` (none for
  `system` messages); a status of ours in `value.statuses[]`; one of *our* messages (the mock's
  history holds some) in a `smb_message_echoes` change, which is how Meta reports business messages
  sent elsewhere (the parser may skip that field). Timestamps are strings of epoch seconds.
- Every customer is named by their business-scoped user id too (the BSUID, §11; made by
  emulator/identity.py): `contacts[].user_id` on every message, status and echo change,
  `from_user_id` on a message, `recipient_user_id` on a status, `to_user_id` on an echo. A customer
  with a phone number is also `from`/`wa_id`/`recipient_id`/`to` (digits, no "+"); one known only
  by a username has no phone fields and has `profile.username`. As Meta's BSUID guide has it, a
  failed status comes without `contacts` (and without `recipient_user_id` when the customer has a
  number), and a `sent` status's contact has no username.
- `TemplatesChanged` and `ConversationStatusChanged` have no message webhook (the desk reads the
  catalogue from the list API; resolving is the desk's own act): `webhook_for` leaves them out, see
  `representable`. A template's status change is `template_status_webhook`.
- `webhook_bytes` is the body as Meta sends it, and the bytes `signature` signs: compact JSON with
  non-ASCII escaped as lowercase \\uXXXX and "/" as "\\/" (§6.2), so a receiver that re-serialises
  before checking the HMAC fails on the first "é" or URL.

What a webhook cannot carry is lost on the way through the parser, by design: a media's size, a
customer's country, the one-line text the mock gives audio, voice, location and unsupported messages.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from backends.errors import title
from desk.codec import referral_to_doc
from desk.models import (
    Customer,
    Direction,
    Event,
    Media,
    Message,
    MessageReceived,
    MessageStatus,
    StatusChanged,
    Template,
)
from emulator.identity import bsuid, is_bsuid

__all__ = [
    "ERROR_HREF",
    "representable",
    "signature",
    "template_status_webhook",
    "timestamp",
    "webhook_bytes",
    "webhook_for",
]

ERROR_HREF = "https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes"

_DETAILS = {
    131026: "Message Undeliverable.",
    131047: "More than 24 hours have passed since the recipient last replied to the sender number.",
    131051: "Message type is currently not supported.",
}


def timestamp(at: datetime) -> str:
    """A webhook timestamp: epoch seconds as a string."""
    return str(int(at.timestamp()))


def representable(event: Event) -> bool:
    """Whether WhatsApp has a message webhook for this event (see the module docstring)."""
    return isinstance(event, (MessageReceived, StatusChanged))


# --- bodies -----------------------------------------------------------------------------------------


def webhook_for(
    events: list[Event],
    *,
    waba_id: str,
    display_numbers: dict[str, str],
    customers: Mapping[str, Customer] | None = None,
    callbacks: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """One webhook body holding `events`, grouped into one change per phone_number_id and field.

    `display_numbers` maps each phone_number_id to the number customers see ("+1 555-0100"); its
    digits become `metadata.display_phone_number`. `customers` (by id) gives a status's contact its
    profile; without it the contact has the ids alone. `callbacks` (by wamid) holds the sends'
    `biz_opaque_callback_data`, which their statuses carry back. BSUIDs are scoped to `waba_id`.
    Events that are not `representable` are left out.
    """
    changes: dict[tuple[str, str], dict[str, Any]] = {}
    known = customers or {}

    def value(number_id: str, field: str) -> dict[str, Any]:
        key = (number_id, field)
        if key not in changes:
            if number_id not in display_numbers:
                raise KeyError(f"no display number for phone_number_id {number_id}")
            changes[key] = {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": _digits(display_numbers[number_id]), "phone_number_id": number_id},
            }
        return changes[key]

    for event in events:
        if isinstance(event, StatusChanged):
            into = value(event.business_number_id, "messages")
            if event.status is not MessageStatus.FAILED:
                _add_contact(into, _status_contact(event, known.get(event.customer_id), waba_id))
            into.setdefault("statuses", []).append(_status(event, waba_id, (callbacks or {}).get(event.wamid)))
        elif isinstance(event, MessageReceived) and event.message.direction is Direction.OUTBOUND:
            echo = value(event.business_number_id, "smb_message_echoes")
            business = echo["metadata"]["display_phone_number"]
            _add_contact(echo, _contact(event.customer, waba_id))
            echo.setdefault("message_echoes", []).append(_echo(event.message, event.customer, business, waba_id))
        elif isinstance(event, MessageReceived):
            into = value(event.business_number_id, "messages")
            business = into["metadata"]["display_phone_number"]
            if event.message.type != "system":  # system messages come without contacts (§6.4)
                _add_contact(into, _contact(event.customer, waba_id))
            into.setdefault("messages", []).append(_inbound(event.message, event.customer, business, waba_id))
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"value": v, "field": field} for (_, field), v in changes.items()]}],
    }


def template_status_webhook(
    waba_id: str,
    template: Template,
    event: str,
    reason: str | None,
    *,
    at: datetime | None = None,
    other_info: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A `message_template_status_update` body (§4.2): `event` is the new status (APPROVED,
    REJECTED, PAUSED, ...), `reason` a rejection reason or None (sent as "NONE"), `other_info` the
    pause's {title, description}. Meta's own example spells the language with a hyphen ("en-US")."""
    value: dict[str, Any] = {
        "event": event,
        "message_template_id": int(template.id) if template.id.isdigit() else template.id,
        "message_template_name": template.name,
        "message_template_language": template.language.replace("_", "-"),
        "reason": reason or "NONE",
    }
    if other_info:
        value["other_info"] = dict(other_info)
    entry: dict[str, Any] = {"id": waba_id, "time": int(at.timestamp()) if at else 0}
    entry["changes"] = [{"value": value, "field": "message_template_status_update"}]
    return {"object": "whatsapp_business_account", "entry": [entry]}


def webhook_bytes(payload: dict[str, Any]) -> bytes:
    """The body as Meta sends it: compact, non-ASCII as lowercase \\uXXXX, "/" as "\\/"."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    # Inside JSON "/" only occurs in strings, where "\/" is a valid escape of it.
    return text.replace("/", "\\/").encode("ascii")


def signature(body: bytes, app_secret: str) -> str:
    """The `X-Hub-Signature-256` header value for `body`: "sha256=<lowercase hex HMAC>"."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


# --- parts ------------------------------------------------------------------------------------------


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _add_contact(value: dict[str, Any], contact: dict[str, Any]) -> None:
    """One entry per customer in `value.contacts`, the first one kept."""
    contacts = value.setdefault("contacts", [])
    if not any(c["user_id"] == contact["user_id"] for c in contacts):
        contacts.append(contact)


def _contact(customer: Customer, scope: str) -> dict[str, Any]:
    profile: dict[str, Any] = {"name": customer.name}
    if customer.username:
        profile["username"] = customer.username
    contact: dict[str, Any] = {"profile": profile}
    if customer.phone:
        contact["wa_id"] = _digits(customer.phone)
    contact["user_id"] = _user_id(customer, scope)
    return contact


def _user_id(customer: Customer, scope: str) -> str:
    """A customer without a number is known by their user id already (desk.models.Customer.id)."""
    return bsuid(customer.id, scope) if customer.phone else customer.id


def _status_contact(event: StatusChanged, customer: Customer | None, scope: str) -> dict[str, Any]:
    """The recipient of a status as its `contacts` entry: the ids, the profile when the customer is
    known, the username only once the message reached them (delivered, read, played)."""
    contact: dict[str, Any] = {}
    if customer is not None:
        contact["profile"] = {"name": customer.name}
        if customer.username and event.status is not MessageStatus.SENT:
            contact["profile"]["username"] = customer.username
    if not is_bsuid(event.customer_id):
        contact["wa_id"] = event.customer_id
    contact["user_id"] = bsuid(event.customer_id, scope)
    return contact


def _sender(customer: Customer, scope: str) -> dict[str, str]:
    sender = {"from": _digits(customer.phone)} if customer.phone else {}
    sender["from_user_id"] = _user_id(customer, scope)
    return sender


def _inbound(message: Message, customer: Customer, business: str, scope: str) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if message.reply_to:
        item["context"] = {"from": business, "id": message.reply_to}
    item.update(_sender(customer, scope))
    item["id"] = message.id
    item["timestamp"] = timestamp(message.timestamp)
    item.update(_content(message))
    if message.error_code is not None:
        item["errors"] = [_error(message.error_code, message.error_text, href=False)]
    if message.referral is not None:  # the click-to-WhatsApp ad it came from (§6.4)
        item["referral"] = referral_to_doc(message.referral)
    return item


def _echo(message: Message, customer: Customer, business: str, scope: str) -> dict[str, Any]:
    """One of our messages as `smb_message_echoes` reports it: from the business, to the customer."""
    item: dict[str, Any] = {"from": business}
    if customer.phone:
        item["to"] = _digits(customer.phone)
    item["to_user_id"] = _user_id(customer, scope)
    if message.reply_to:
        item["context"] = {"from": business, "id": message.reply_to}
    item["id"] = message.wamid or message.id
    item["timestamp"] = timestamp(message.timestamp)
    item.update(_content(message))
    return item


def _content(message: Message) -> dict[str, Any]:
    """`type` and the type's own object, as Meta's examples write them."""
    kind = message.type
    if kind in ("image", "video", "audio", "voice", "document", "sticker"):
        return _media(message)
    if kind == "location" and message.location is not None:
        place = message.location
        body: dict[str, Any] = {"latitude": place.latitude, "longitude": place.longitude}
        if place.name:
            body["name"] = place.name
        if place.address:
            body["address"] = place.address
        return {"type": "location", "location": body}
    if kind == "contacts":
        return {"type": "contacts", "contacts": [_card(line) for line in message.contacts]}
    if kind == "reaction":
        return {"type": "reaction", "reaction": {"message_id": message.reaction_to or "", "emoji": message.text}}
    if kind == "interactive":
        reply_id = re.sub(r"[^a-z0-9]+", "-", message.text.lower()).strip("-") or "reply"
        return {"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": reply_id, "title": message.text}}}
    if kind == "button":
        return {"type": "button", "button": {"payload": message.text, "text": message.text}}
    if kind == "order":
        return {"type": "order", "order": {"catalog_id": "", "text": message.text, "product_items": []}}
    if kind == "system":
        return {"type": "system", "system": {"body": message.text, "type": "user_changed_number"}}
    if kind == "unsupported":
        return {"type": "unsupported"}
    if kind == "template":
        name, _, language = (message.template or "template").partition(" (")
        return {"type": "template", "template": {"name": name, "language": {"code": language.rstrip(")") or "en_US"}}}
    if kind == "text":
        return {"type": "text", "text": {"body": message.text}}
    return {"type": kind}  # a type from the future: the parser keeps it as what it says it is


def _media(message: Message) -> dict[str, Any]:
    media = message.media or Media(message.type)
    kind = "audio" if message.type == "voice" else message.type
    body: dict[str, Any] = {}
    if media.caption:
        body["caption"] = media.caption
    if media.filename:
        body["filename"] = media.filename
    if media.mime_type:
        body["mime_type"] = media.mime_type
    if media.sha256:
        body["sha256"] = media.sha256
    body["id"] = media.media_id or ""
    if message.type == "voice":
        body["voice"] = True
    if kind == "sticker":
        body["animated"] = False
    return {"type": kind, kind: body}


def _card(line: str) -> dict[str, Any]:
    """A shared contact from the desk's "Name +44 7700 900123" line."""
    name, plus, number = line.rpartition(" +")
    if not plus:
        return {"name": {"formatted_name": line, "first_name": line}}
    phone = "+" + number
    first, _, last = name.partition(" ")
    names = {"formatted_name": name, "first_name": first}
    if last:
        names["last_name"] = last
    return {"name": names, "phones": [{"phone": phone, "wa_id": _digits(phone), "type": "MOBILE"}]}


def _status(event: StatusChanged, scope: str, callback: str | None = None) -> dict[str, Any]:
    if event.status not in _WEBHOOK_STATUSES:
        raise ValueError(f"WhatsApp never reports a message as {event.status.value}")
    item: dict[str, Any] = {"id": event.wamid, "status": event.status.value, "timestamp": timestamp(event.timestamp)}
    by_number = not is_bsuid(event.customer_id)
    if by_number:
        item["recipient_id"] = event.customer_id
    if not (by_number and event.status is MessageStatus.FAILED):
        item["recipient_user_id"] = bsuid(event.customer_id, scope)
    if callback is not None:
        item["biz_opaque_callback_data"] = callback
    if event.pricing is not None:  # §6.5
        pricing = event.pricing
        item["pricing"] = {"pricing_model": pricing.model, "type": pricing.type, "category": pricing.category}
        if pricing.billable is not None:
            item["pricing"]["billable"] = pricing.billable
    if event.status is MessageStatus.FAILED:
        item["errors"] = [_error(event.error_code or 131000, event.error_text, href=True)]
    return item


_WEBHOOK_STATUSES = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.PLAYED, MessageStatus.FAILED)


def _error(code: int, text: str | None, *, href: bool) -> dict[str, Any]:
    """A webhook error object (§6.6): {code, title, message, error_data{details}}, no `type`."""
    error: dict[str, Any] = {
        "code": code,
        "title": title(code),
        "message": title(code),
        "error_data": {"details": _DETAILS.get(code) or text or title(code)},
    }
    if href:
        error["href"] = ERROR_HREF
    return error
