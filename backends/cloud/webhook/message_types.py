"""What a message carries, one reader per type: text, media, location, contacts, interactive
replies, buttons, reactions, orders, system messages, and whatever type comes unknown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from backends.cloud.webhook.problems import error_details, first_error
from backends.cloud.webhook.untrusted import as_count, as_dict, as_ident, as_list, as_number, as_str, part_of
from desk.models import Location, Media


class Body(NamedTuple):
    """What a message carries, by type; the common fields are filled in by parse_message."""

    type: str
    text: str = ""
    media: Media | None = None
    location: Location | None = None
    contacts: tuple[str, ...] = ()
    reaction_to: str | None = None


def _text(msg: dict[str, Any], kind: str) -> Body:
    return Body(kind, as_str(part_of(msg, kind).get("body")) or "")


def _media(msg: dict[str, Any], kind: str) -> Body:
    """image, video, audio, document, sticker. An audio with `voice: true` is a voice note: the
    desk shows those differently (a customer talking, not a file)."""
    part = part_of(msg, kind)
    if kind == "audio" and part.get("voice") is True:
        kind = "voice"
    media = Media(
        kind=kind,
        mime_type=as_str(part.get("mime_type")),
        caption=as_str(part.get("caption")),
        filename=as_str(part.get("filename")),
        size=None,  # webhooks do not say; the media URL lookup does
        media_id=as_ident(part.get("id")),
        sha256=as_str(part.get("sha256")),
    )
    return Body(kind, media.caption or media.filename or "", media=media)


def _location(msg: dict[str, Any], kind: str) -> Body:
    part = part_of(msg, kind)
    lat, lon = as_number(part.get("latitude")), as_number(part.get("longitude"))
    name, address = as_str(part.get("name")), as_str(part.get("address"))
    described = ", ".join(p for p in (name, address) if p)
    if lat is None or lon is None:  # no point to show: keep whatever words came with it
        return Body(kind, described or "location")
    location = Location(lat, lon, name, address)
    return Body(kind, described or f"{lat:.5f}, {lon:.5f}", location=location)


def _contacts(msg: dict[str, Any], kind: str) -> Body:
    """Shared contact cards, each as "Formatted Name +phone[, +phone]"."""
    lines, names = [], []
    for card in as_list(msg.get(kind)) or []:
        card = as_dict(card)
        if card is None:
            continue
        name_part = as_dict(card.get("name")) or {}
        name = as_str(name_part.get("formatted_name")) or " ".join(
            p for p in (as_str(name_part.get("first_name")), as_str(name_part.get("last_name"))) if p
        )
        name = name or "Contact"
        phones = []
        for phone in as_list(card.get("phones")) or []:
            phone = as_dict(phone) or {}
            number = as_str(phone.get("phone"))
            wa_id = as_ident(phone.get("wa_id"))
            if number or wa_id:
                phones.append(number or f"+{wa_id}")
        lines.append(f"{name} {', '.join(phones)}".strip())
        names.append(name)
    return Body(kind, f"Contact: {', '.join(names)}" if names else "Contact", contacts=tuple(lines))


def _interactive(msg: dict[str, Any], kind: str) -> Body:
    """The customer tapped a reply button, picked from a list, or completed a Flow (nfm_reply)."""
    part = part_of(msg, kind)
    sub = as_str(part.get("type")) or ""
    reply = as_dict(part.get(sub)) or {}
    if sub == "nfm_reply":
        said = [p for p in (as_str(reply.get("name")), as_str(reply.get("body"))) if p]
        return Body(kind, ": ".join(said) or "Flow response")
    title = as_str(reply.get("title"))
    description = as_str(reply.get("description"))
    if title and description:
        return Body(kind, f"{title} — {description}")
    return Body(kind, title or description or "interactive message")


def _button(msg: dict[str, Any], kind: str) -> Body:
    """A tap on a template's quick-reply button; context.id is the template message."""
    part = part_of(msg, kind)
    return Body(kind, as_str(part.get("text")) or as_str(part.get("payload")) or "")


def _reaction(msg: dict[str, Any], kind: str) -> Body:
    """An emoji on one of the conversation's messages; no emoji means the reaction was removed."""
    part = part_of(msg, kind)
    return Body(kind, as_str(part.get("emoji")) or "", reaction_to=as_ident(part.get("message_id")))


def _order(msg: dict[str, Any], kind: str) -> Body:
    """A cart sent from the catalogue: "order: 3 items, 85.00 USD (catalog 1948...)"."""
    part = part_of(msg, kind)
    items = [i for i in as_list(part.get("product_items")) or [] if isinstance(i, dict)]
    quantities = [as_count(i.get("quantity")) for i in items]
    count = sum(q if q is not None else 1 for q in quantities)
    summary = f"order: {count} item{'' if count == 1 else 's'}"
    total = _order_total(items, quantities)
    if total is not None:
        summary += f", {total}"
    catalog = as_ident(part.get("catalog_id"))
    if catalog:
        summary += f" (catalog {catalog})"
    note = as_str(part.get("text"))
    return Body(kind, f"{summary} — {note}" if note else summary)


def _order_total(items: list[dict[str, Any]], quantities: list[int | None]) -> str | None:
    """The cart's total, only when every line has a quantity and a price in one currency."""
    currencies = {as_str(i.get("currency")) for i in items}
    if not items or len(currencies) != 1 or None in currencies or None in quantities:
        return None
    prices = [as_number(i.get("item_price")) for i in items]
    if None in prices:
        return None
    total = sum(q * p for q, p in zip(quantities, prices) if q is not None and p is not None)  # (no None left: returned above)
    return f"{total:,.2f} {currencies.pop()}"


def _system(msg: dict[str, Any], kind: str) -> Body:
    """A number change or identity change. System messages come without `contacts` (§6.4)."""
    return Body(kind, as_str(part_of(msg, kind).get("body")) or "system message")


def _unknown(msg: dict[str, Any], kind: str) -> Body:
    """`unsupported`, or a type WhatsApp added after this was written: kept, never dropped, so the
    agent sees that the customer sent something. The error code (131051) is set by the caller."""
    error = first_error(msg) or {}
    detail = error_details(error) if error else ""
    return Body(kind, detail or f"{kind} message")


_BUILDERS: dict[str, Callable[[dict[str, Any], str], Body]] = {
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


def body_of(msg: dict[str, Any], kind: str) -> Body:
    """What a message of `kind` carries; a type without a reader is kept as what it says it is."""
    return _BUILDERS.get(kind, _unknown)(msg, kind)
