"""Request bodies for `POST /{version}/{phone-number-id}/messages`: pure functions, no I/O.

The shapes follow Meta's own examples (tests/fixtures/meta/send-message-request-examples.json);
every message body carries `"messaging_product": "whatsapp"` and `"recipient_type": "individual"`.

Addressing (../shared/reference/whatsapp-cloud-api.md sections 2 and 11) — a recipient is either:
- a phone number, sent in `"to"` as full E.164 **with** "+". Without the "+" Meta prepends the
  *business* number's country code and may deliver to a stranger, so a number without "+" is
  refused here (ValueError) rather than guessed at;
- a business-scoped user id (BSUID, "US.13491208655302741918", parent "US.ENT.1181..."), for a
  customer known only by a username. It goes in the newer `"recipient"` field, never in `"to"`:
  Meta reads a BSUID in `to` as a phone number and drops the message silently. An unsupported BSUID
  send is answered with 131062 (in backends/errors.py).
Pass a `desk.models.Customer` and the right field is chosen: the phone when there is one (webhooks
then keep carrying the number), else the customer's id, which for a phoneless customer is the BSUID.

Templates: values are keyed by placeholder name ("1", "2" for POSITIONAL templates, "first_name"
for NAMED ones), as `Template.parameters()` lists them. A header's placeholders go in a header
component and the body's in a body component, each in placeholder order. A missing or blank value
is a ValueError here, before WhatsApp would answer 132000. Only text parameters are built: a
template with a media header or a dynamic URL button cannot be sent from these models.
"""

from __future__ import annotations

import re
from typing import Any

from desk.models import Customer, Template

_BSUID = re.compile(r"^[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}$")
_E164 = re.compile(r"^\+[0-9][0-9 ()\-]{5,22}$")

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
_CAPTIONED = ("image", "video", "document")


def address(to: str | Customer) -> dict[str, str]:
    """The addressing fields: {"to": "+E.164"} for a number, {"recipient": bsuid} for a BSUID."""
    if isinstance(to, Customer):
        to = to.phone or to.id
    to = to.strip()
    if _E164.match(to):
        return {"to": to}
    if _BSUID.match(to):
        return {"recipient": to}
    raise ValueError(
        f"Cannot address {to!r}: give a full international number starting with + "
        "(without it WhatsApp assumes the business's own country) or a business-scoped user id like US.1234."
    )


def _envelope(to: str | Customer, kind: str, reply_to: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", **address(to), "type": kind}
    if reply_to:
        body["context"] = {"message_id": reply_to}
    return body


def text(to: str | Customer, body: str, *, preview_url: bool = False, reply_to: str | None = None) -> dict[str, Any]:
    """Free text (desk.limits.TEXT_MAX characters at most: WhatsApp refuses longer with 100)."""
    payload = _envelope(to, "text", reply_to)
    payload["text"] = {"body": body, "preview_url": preview_url}
    return payload


def template(to: str | Customer, template: Template, values: dict[str, str]) -> dict[str, Any]:
    """An approved template with its parameters (text parameters only; see the module docstring)."""
    named = template.parameter_format.upper() == "NAMED"
    parameters_of: dict[str, list[dict[str, Any]]] = {}
    for component, name, key in template.placeholders():
        value = values.get(key)
        if value is None or not str(value).strip():
            raise ValueError(f"The template {template.name} needs a value for {{{{{name}}}}} in its {component}.")
        parameter: dict[str, Any] = {"type": "text", "text": str(value)}
        if named:
            parameter["parameter_name"] = name
        parameters_of.setdefault(component, []).append(parameter)
    components = [{"type": kind, "parameters": parameters} for kind, parameters in parameters_of.items()]
    spec: dict[str, Any] = {"name": template.name, "language": {"code": template.language.replace("-", "_")}}
    if components:
        spec["components"] = components
    payload = _envelope(to, "template", None)
    payload["template"] = spec
    return payload


def media(
    to: str | Customer,
    kind: str,
    media_id: str,
    *,
    caption: str | None = None,
    filename: str | None = None,
    reply_to: str | None = None,
) -> dict[str, Any]:
    """A file uploaded before (`Graph.upload_media`), by its media id.

    Captions exist for image, video and document; a file name only for document.
    """
    if kind not in MEDIA_KINDS:
        raise ValueError(f"Cannot send media of kind {kind!r}; use one of {', '.join(MEDIA_KINDS)}.")
    if caption and kind not in _CAPTIONED:
        raise ValueError(f"WhatsApp does not show captions on {kind} messages.")
    if filename and kind != "document":
        raise ValueError("Only documents carry a file name.")
    item: dict[str, Any] = {"id": media_id}
    if caption:
        item["caption"] = caption
    if filename:
        item["filename"] = filename
    payload = _envelope(to, kind, reply_to)
    payload[kind] = item
    return payload


def reaction(to: str | Customer, message_id: str, emoji: str) -> dict[str, Any]:
    """An emoji on the customer's message `message_id` (Meta's "Send Reply with Reaction
    Message"); an empty emoji removes our reaction."""
    if not message_id:
        raise ValueError("A reaction needs the id of the message it reacts to.")
    payload = _envelope(to, "reaction", None)
    payload["reaction"] = {"message_id": message_id, "emoji": emoji}
    return payload


def read(wamid: str, *, typing: bool = False) -> dict[str, Any]:
    """Mark an inbound message (and the ones before it) read; `typing` also shows "typing…" for up
    to 25 s, so ask for it only when a reply is coming. No recipient: the wamid names the chat."""
    payload: dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
    if typing:
        payload["typing_indicator"] = {"type": "text"}
    return payload
