"""One message (§6.4), inbound or an echo of ours: the fields every type shares, the sender
completed from `value.contacts[]` (§11), and notes on where it came from. What each type carries
is read by backends/cloud/webhook/message_types.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backends.cloud.webhook.collect import Collector
from backends.cloud.webhook.message_types import body_of
from backends.cloud.webhook.problems import error_detail, first_error
from backends.cloud.webhook.untrusted import as_code, as_dict, as_ident, as_str
from backends.errors import failure_text
from desk.models import (
    Customer,
    Direction,
    Message,
    MessageReceived,
    MessageStatus,
    Referral,
    conversation_id,
)


def parse_message(out: Collector, raw: object, number: str, contacts: list[dict[str, Any]], echo: bool = False) -> None:
    """One `messages[]` item (§6.4), or with `echo` one of ours from `message_echoes[]`: every type
    is kept (unknown ones as what they say they are), but a message without id, customer or
    timestamp is not produced at all."""
    msg = as_dict(raw)
    if msg is None:
        out.malformed("a message that is not an object")
        return
    wamid = as_ident(msg.get("id"))
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
    kind = as_str(msg.get("type")) or "unsupported"
    body = body_of(msg, kind)
    error = first_error(msg)
    error_code = as_code(error.get("code")) if error is not None else None
    context = as_dict(msg.get("context")) or {}
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
        reply_to=as_ident(context.get("id")),
        reaction_to=body.reaction_to,
        error_code=error_code,
        error_text=failure_text(error_code, error_detail(error)) if error is not None and error_code is not None else None,
        referral=_referral(msg.get("referral")),
    )
    out.events.append(MessageReceived(number, customer, message))


_REFERRAL_FIELDS = ("source_url", "source_type", "source_id", "headline", "body", "media_type", "ctwa_clid")


def _referral(raw: object) -> Referral | None:
    """The click-to-WhatsApp ad or post the message came from (§6.4): its strings as sent (the ad's
    text is the advertiser's, the UI neutralises it), a field of another kind read as absent. None
    without a referral object. `image_url`, `video_url` and `welcome_message` are left out: the desk
    shows where the customer came from, not the ad itself."""
    referral = as_dict(raw)
    if referral is None:
        return None
    return Referral(**{name: as_ident(referral.get(name)) for name in _REFERRAL_FIELDS})


def _customer(msg: dict[str, Any], contacts: list[dict[str, Any]]) -> Customer | None:
    """The sender, completed from `value.contacts[]` (§11): keyed by wa_id when WhatsApp gives a
    phone number, else by the business-scoped user id. None when the message names no sender."""
    wa_id = as_ident(msg.get("from"))
    user_id = as_ident(msg.get("from_user_id"))
    if wa_id is None and user_id is None:
        return None
    contact = next(
        (
            c
            for c in contacts
            if (wa_id is not None and as_ident(c.get("wa_id")) == wa_id)
            or (user_id is not None and as_ident(c.get("user_id")) == user_id)
        ),
        {},
    )
    wa_id = wa_id or as_ident(contact.get("wa_id"))
    user_id = user_id or as_ident(contact.get("user_id"))
    profile = as_dict(contact.get("profile")) or {}
    username = as_ident(profile.get("username"))
    phone = f"+{wa_id.lstrip('+')}" if wa_id is not None else None
    customer_id = wa_id or user_id
    assert customer_id is not None  # one of them was set above
    name = as_ident(profile.get("name")) or username or phone or customer_id
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
    product = as_dict(context.get("referred_product"))
    if product is not None:
        notes.append(f"[about product {as_ident(product.get('product_retailer_id')) or '?'}]")
    referral = as_dict(msg.get("referral"))
    if referral is not None:
        what = as_str(referral.get("headline")) or as_str(referral.get("body"))
        what = what or as_str(referral.get("source_url")) or "an ad"
        notes.append(f"[from ad: {what}]")
    return " ".join([*notes, text]).strip() if notes else text

