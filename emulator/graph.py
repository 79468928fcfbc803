"""The Graph endpoints for messages and templates, on the mock's rules (the window, the catalogue
and its checks live in backends/mock/: simulation.py and rules.py; this speaks Meta's wire format around them).

    POST /{version}/{phone_number_id}/messages   text, template, image/video/audio/document/sticker
                                                 (by uploaded media id or link), reaction, location,
                                                 contacts, interactive, with a reply's `context`; no
                                                 `type`: the body's one message object says it;
                                                 `biz_opaque_callback_data` comes back in the statuses;
                                                 {"status": "read"} (and a typing_indicator) -> {"success": true}
    GET  /{version}/{waba_id}/message_templates  fields, limit, after/before (cursors), summary; filters
                                                 name (a part of it), status, category, language
                                                 (each a comma list)
    GET  /{version}/{phone_number_id}            the number's display name, quality and throughput (fields)

Free-form messages outside the window: 131047, synchronously (HTTP 400) with `window_errors="sync"`,
or accepted with a wamid and then failed by a status webhook with `window_errors="async"` (Meta does
both, ../shared/reference/whatsapp-cloud-api.md §7). A recipient that is not one of the mock's
customers: 131026, synchronously.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from backends.base import Sent
from backends.errors import WhatsAppError, describe
from backends.mock.catalogue import find
from backends.mock.people import Person
from desk.models import MessageStatus, StatusChanged, Template
from emulator.templates import template_document, template_page, template_values
from emulator.wire import Refused, read_json, select_fields, unknown_object

if TYPE_CHECKING:
    from emulator.server import Emulator

__all__ = ["Graph"]

_FREE_FORM = ("text", "image", "video", "audio", "document", "sticker", "reaction", "location", "contacts", "interactive")
_MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
_CALLBACK_MOST = 512
"""biz_opaque_callback_data is at most 512 characters (§2)."""


def _message_type(body: dict[str, Any]) -> str:
    """`type`, or when it is left out the one message object the body has: some of Meta's own
    examples send {"interactive": {...}} with no type ("Send Reply to List Message"). Else text."""
    kind = body.get("type")
    if isinstance(kind, str) and kind:
        return kind
    return next((k for k in ("template", *_FREE_FORM) if k in body), "text")


class Graph:
    """The handlers; the emulator routes to them (emulator/server.py)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    # POST /{version}/{phone_number_id}/messages
    async def messages(self, request: web.Request) -> web.Response:
        emu = self.emu
        number_id = request.match_info["number_id"]
        if number_id not in emu.display_numbers:
            raise unknown_object(number_id, "post")
        body = await read_json(request)
        if body.get("messaging_product") != "whatsapp":
            raise Refused(100, "The parameter messaging_product is required and must be \"whatsapp\".")
        if "status" in body:
            return self._mark_read(body)
        person, contact = self._recipient(body)
        kind = _message_type(body)
        now = emu.clock.now()
        try:
            if kind == "template":
                sent = self._send_template(number_id, person, body, now)
            elif kind in _FREE_FORM:
                sent = self._send_free_form(number_id, person, kind, body, now)
            else:
                raise Refused(131051, f"Message type {kind!r} is not supported.")
        except WhatsAppError as error:
            if error.code != 131047 or emu.window_errors == "sync":
                raise
            sent = self._fail_later(number_id, person.id, error, now)
        emu.sent[sent.wamid] = (number_id, person.id)
        callback = body.get("biz_opaque_callback_data")
        if isinstance(callback, str) and callback:
            emu.callbacks[sent.wamid] = callback[:_CALLBACK_MOST]
        emu.kick()
        return web.json_response({"messaging_product": "whatsapp", "contacts": [contact], "messages": [{"id": sent.wamid}]})

    def _mark_read(self, body: dict[str, Any]) -> web.Response:
        """A read receipt, with or without the typing indicator (§3): {"success": true}."""
        if body.get("status") != "read":
            raise Refused(100, "The parameter status must be \"read\".")
        wamid = body.get("message_id")
        if not isinstance(wamid, str) or not wamid:
            raise Refused(131008, "The parameter message_id is required.")
        if not wamid.startswith("wamid."):
            raise Refused(100, f"Invalid message_id {wamid!r}.")
        typing = body.get("typing_indicator")
        if typing is not None and (not isinstance(typing, dict) or typing.get("type") != "text"):
            raise Refused(100, "The parameter typing_indicator.type must be \"text\".")
        return web.json_response({"success": True})

    def _recipient(self, body: dict[str, Any]) -> tuple[Person, dict[str, str]]:
        """The customer addressed by `to` (a number) or `recipient` (a BSUID, or a number), `to`
        first when both are given, and the response's contacts entry: {"input", "wa_id"} for a
        number, {"input", "user_id"} for a BSUID (Meta's BSUID guide, §11)."""
        given = body.get("to") or body.get("recipient")
        if not isinstance(given, str) or not given.strip():
            raise Refused(131008, "The parameter to is required.")
        if "." in given:  # a business-scoped user id, "DE.1349..."
            person = self.emu.bsuids.get(given.strip())
            if person is None:
                raise Refused(131026, f"{given} is not a WhatsApp user of the emulator (GET /_emulator/customers).")
            return person, {"input": given, "user_id": given.strip()}
        digits = re.sub(r"[\s()+\-]", "", given)
        if not digits.isdigit():
            raise Refused(100, f"Invalid parameter to: {given!r} is not a phone number.")
        person = self.emu.phones.get(digits)
        if person is None:
            raise Refused(131026, f"{given} is not on WhatsApp (not one of the emulator's customers: GET /_emulator/customers).")
        return person, {"input": given, "wa_id": person.id}

    def _send_free_form(self, number_id: str, person: Person, kind: str, body: dict[str, Any], now: datetime) -> Sent:
        """Anything but a template: the window rule is the Simulation's (send_text); the text it is
        given only stands in for the content, which the mock's customers never look at."""
        part = body.get(kind)
        if part is None or (kind != "contacts" and not isinstance(part, dict)):
            raise Refused(131008, f"The parameter {kind} is required.")
        context = body.get("context")
        reply_to = context.get("message_id") if isinstance(context, dict) else None
        if kind == "text":
            text = part.get("body")
            if not isinstance(text, str):
                raise Refused(131008, "The parameter text.body is required.")
        elif kind in _MEDIA_KINDS:
            media_id, link = part.get("id"), part.get("link")
            if not media_id and not link:
                raise Refused(131008, f"The parameter {kind}.id or {kind}.link is required.")
            if media_id and str(media_id) not in self.emu.media:
                raise Refused(100, f"Invalid parameter {kind}.id: no media with id {media_id}.")
            text = part.get("caption") or f"[{kind}]"
        elif kind == "reaction":
            # The mock's rules for reactions: the window, and only `sent` afterwards (as Meta does).
            message_id, emoji = part.get("message_id"), part.get("emoji", "")
            if not isinstance(message_id, str) or not message_id:
                raise Refused(131008, "The parameter reaction.message_id is required.")
            if not isinstance(emoji, str):
                raise Refused(100, "The parameter reaction.emoji must be a string.")
            return self.emu.simulation.send_reaction(number_id, person.id, message_id, emoji, now)
        else:
            text = f"[{kind}]"
        return self.emu.simulation.send_text(number_id, person.id, text, now, reply_to)

    def _send_template(self, number_id: str, person: Person, body: dict[str, Any], now: datetime) -> Sent:
        spec = body.get("template")
        if not isinstance(spec, dict):
            raise Refused(131008, "The parameter template is required.")
        name = spec.get("name")
        language = spec.get("language")
        code = language.get("code") if isinstance(language, dict) else None
        if not isinstance(name, str) or not name or not isinstance(code, str) or not code:
            raise Refused(131008, "The parameters template.name and template.language.code are required.")
        simulation = self.emu.simulation
        template = find(tuple(simulation.templates(number_id)), name, code)
        components = spec.get("components") or []
        if not isinstance(components, list):
            raise Refused(100, "The parameter template.components must be a list.")
        values = template_values(template, components)
        return simulation.send_template(number_id, person.id, name, code, values, now)

    def _fail_later(self, number_id: str, customer_id: str, error: WhatsAppError, now: datetime) -> Sent:
        """Accept the message and fail it in a status webhook, as Meta sometimes does with 131047."""
        seq = self.emu.next_seq()
        tag = hashlib.sha256(f"emulator:{seq}".encode()).hexdigest()[:18].upper()
        wamid = "wamid.HBgL" + base64.b64encode(customer_id.encode() + b"\x15\x02\x00\x11\x18\x12" + tag.encode()).decode().rstrip("=")
        failed = StatusChanged(number_id, customer_id, wamid, MessageStatus.FAILED, now, error.code, describe(error.code))
        self.emu.fail_at(now, seq, failed)
        return Sent(wamid, now)

    # GET /{version}/{phone_number_id} (a media id is emulator/media.py's)
    def number(self, request: web.Request, object_id: str) -> web.Response | None:
        number = next((n for n in self.emu.simulation.numbers if n.id == object_id), None)
        if number is None:
            return None
        return web.json_response(select_fields({
            "verified_name": number.department,
            "display_phone_number": number.display,
            "id": number.id,
            "quality_rating": "GREEN",
            "platform_type": "CLOUD_API",
            "throughput": {"level": "STANDARD"},
        }, request.query.get("fields")))

    # GET /{version}/{waba_id}/message_templates
    async def templates(self, request: web.Request) -> web.Response:
        waba_id = request.match_info["waba_id"]
        if waba_id != self.emu.waba_id:
            raise unknown_object(waba_id, "get")
        query = request.query
        documents = [template_document(t) for t in self._waba_templates()]
        listed = [
            doc for doc in documents
            if query.get("name", "").lower() in doc["name"].lower()  # a part of the name will do
            and all(not query.get(key) or str(doc[key]).lower() in query[key].lower().split(",")
                    for key in ("status", "category", "language"))
        ]
        return web.json_response(template_page(documents, listed, query, request.url))

    def _waba_templates(self) -> list[Template]:
        """The account's catalogue: the numbers' catalogues, one template per name and language.

        The mock gives each number its own catalogue; a WABA has one. Sends are still checked against
        the sending number's catalogue, so a template listed from another number's extras answers
        132001 there (none of those extras is APPROVED, so nothing sendable is affected)."""
        simulation = self.emu.simulation
        seen: dict[tuple[str, str], Template] = {}
        for number in simulation.numbers:
            for template in simulation.templates(number.id):
                seen.setdefault((template.name, template.language), template)
        return list(seen.values())
