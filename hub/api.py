"""The agents' HTTP API (docs/team.md): REST for every action and Server-Sent Events for changes,
over any store. The team's hub serves it on PostgreSQL; the embedded desk serves the same app on
its Unix socket for the CLI. Every request is an agent's (its token, or the socket's owner); what it
may see and do is `hub.access`'s rule; every write is signed with its name, so the audit log says
who acted. Errors are a status and a sentence (`{"error", "code"}`), never a traceback."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, Protocol, TypeVar

from aiohttp import web

from desk.codec import conversation_to_row, message_to_doc, template_to_doc, ts_from_doc, ts_to_doc
from desk.models import Conversation, ConversationStatus, Message, MessageStatus, Priority, TemplateChoice
from desk.store.contract import ConversationUnavailable, StoreUnavailable
from desk.text import flatten
from desk.window import window
from desk.wire import audit_to_json, hit_to_json, profile_from_json, profile_to_json, quick_reply_to_json
from engine.context import DeskContext
from engine.outbox import Outbox
from engine.writer import StoreWriter
from hub import events
from hub.access import Access, Agent, Revoked, Unauthorized

log = logging.getLogger(__name__)

MAX_REQUEST = 64 * 1024 * 1024
"""A file to send, base64 in JSON: WhatsApp takes documents up to 100 MB, but a hub holding that
in memory per request is a denial of service waiting; 64 MB of base64 is 48 MB of file."""
KEY = re.compile(r"^[A-Za-z0-9._:-]{8,100}$")
"""An idempotency key: a UUID or any id of 8-100 plain characters (it becomes the message's id)."""
WINDOW_CLOSED = "The 24-hour window is closed: only an approved template can reach the customer now."


class Directory(Protocol):
    def who(self, token: str | None) -> Agent:
        """The agent the token is (Unauthorized, Revoked otherwise)."""
        ...


Dispatch = Callable[[Conversation, Message], None]
"""Hands a QUEUED message to whoever sends (the hub's sender; the desk's outbox). Called again
for a repeated request with the same key: the sender sends each message once."""


@dataclass
class Services:
    context: DeskContext
    writer: StoreWriter
    directory: Directory
    dispatch: Dispatch
    presence: events.Presence
    files: Path
    """Where files posted for sending are kept (they are sent, and resent, from there)."""
    stall_seconds: float = events.STALL_SECONDS
    share_file: Callable[[str, str, bytes], Awaitable[None]] | None = None
    """Keeps a posted file where every replica can read it (hub.files); None: one process."""


class Refused(Exception):
    def __init__(self, status: int, code: str, sentence: str, **extra: Any) -> None:
        super().__init__(sentence)
        self.status, self.code, self.extra = status, code, extra


def _error(status: int, code: str, sentence: str, **extra: Any) -> web.Response:
    return web.json_response({"error": sentence, "code": code, **extra}, status=status)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AGENT = web.RequestKey("agent", Agent)
ACCESS = web.RequestKey("access", Access)


def api_app(services: Services) -> web.Application:
    store, context = services.context.store, services.context

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        try:
            agent = await asyncio.to_thread(services.directory.who, token)
            request[AGENT] = agent
            request[ACCESS] = Access(agent, context.numbers())
            return await handler(request)
        except Revoked as exc:
            return _error(401, "revoked", str(exc))
        except Unauthorized as exc:
            return _error(401, "unauthorized", str(exc))
        except Refused as exc:
            return _error(exc.status, exc.code, str(exc), **exc.extra)
        except (StoreUnavailable, ConversationUnavailable) as exc:
            return _error(503, "unavailable", str(exc))
        except ValueError as exc:
            return _error(422, "invalid", str(exc))
        except web.HTTPException:
            raise
        except Exception:  # noqa: BLE001 - any bug: the agent gets a sentence, the log the traceback
            log.exception("hub API: %s %s failed", request.method, request.path)
            return _error(500, "failed", "The hub failed on this request; its log says why.")

    def agent_of(request: web.Request) -> Agent:
        return request[AGENT]

    def access_of(request: web.Request) -> Access:
        return request[ACCESS]

    def conversation_of(request: web.Request) -> Conversation:
        cid = request.match_info["id"]
        conversation = store.conversation(cid)
        if conversation is None:
            raise Refused(404, "not_found", f"There is no conversation {flatten(cid, 80)}.")
        if not access_of(request).number(conversation.business_number_id):
            raise Refused(403, "forbidden", "This conversation is outside your departments.")
        return conversation

    async def body(request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        try:
            doc = await request.json()
        except ValueError:
            raise ValueError("The request's body is not JSON.") from None
        if not isinstance(doc, dict):
            raise ValueError("The request's body must be a JSON object.")
        return doc

    def text_of(doc: dict[str, Any], name: str, *, empty: bool = False) -> str:
        value = doc.get(name, "")
        if not isinstance(value, str) or (not empty and not value.strip()):
            raise ValueError(f"{name} must be {'a' if empty else 'a non-empty'} string.")
        return value

    def key_of(doc: dict[str, Any]) -> str:
        key = doc.get("key")
        if not isinstance(key, str) or not KEY.match(key):
            raise ValueError("key must be an idempotency key: 8 to 100 letters, digits, '.', '_', ':' or '-' (a UUID).")
        return key

    def writer(request: web.Request) -> StoreWriter:
        return services.writer.signed(agent_of(request).name)

    def outbox(request: web.Request) -> Outbox:
        return Outbox(writer(request), context.backend, context.clock)

    def window_open(conversation: Conversation) -> None:
        if not window(conversation.last_inbound_at, context.clock.now()).open:
            raise Refused(422, "window_closed", WINDOW_CLOSED)

    def queued(conversation: Conversation, message: Message) -> web.Response:
        if message.status is MessageStatus.QUEUED:
            services.dispatch(conversation, message)
        return web.json_response({"message": message_to_doc(message)})

    # --- reading ------------------------------------------------------------------------------

    async def me(request: web.Request) -> web.Response:
        agent = agent_of(request)
        return web.json_response({"agent": agent.name, "role": agent.role.value, "departments": sorted(agent.departments)})

    async def numbers(request: web.Request) -> web.Response:
        access = access_of(request)
        return web.json_response(
            [{"id": n.id, "display": n.display, "department": n.department} for n in context.numbers() if access.number(n.id)]
        )

    async def conversations(request: web.Request) -> web.Response:
        access = access_of(request)
        last = store.last_change()  # before the list: a change during it is announced after `last`
        rows = [conversation_to_row(c) for c in store.conversations() if access.number(c.business_number_id)]
        return web.json_response({"last_change": last, "conversations": rows})

    async def conversation(request: web.Request) -> web.Response:
        found = conversation_of(request)
        agent = agent_of(request)
        messages = await asyncio.to_thread(store.messages, found.id)
        audit = await services.writer.audit(found.id)
        return web.json_response({
            "conversation": conversation_to_row(found),
            "messages": [message_to_doc(m) for m in messages],
            "audit": [audit_to_json(e) for e in audit],
            "draft": store.draft(found.id, agent=agent.name),
            "presence": [s.to_json() for s in services.presence.here(found.id) if s.agent != agent.name],
        })

    async def templates(request: web.Request) -> web.Response:
        number = request.match_info["number"]
        if not access_of(request).number(number):
            raise Refused(403, "forbidden", "This business number is outside your departments.")
        synced = store.templates_synced_at(number)
        return web.json_response(
            {"synced_at": ts_to_doc(synced), "templates": [template_to_doc(t) for t in store.templates(number)]}
        )

    async def search(request: web.Request) -> web.Response:
        access = access_of(request)
        hits = await asyncio.to_thread(store.search, request.query.get("q", ""))
        visible = [h for h in hits if (c := store.conversation(h.conversation_id)) and access.number(c.business_number_id)]
        return web.json_response({"hits": [hit_to_json(h) for h in visible]})

    async def stream(request: web.Request) -> web.StreamResponse:
        hub = context.config.hub
        return await events.stream(
            request, store, access_of(request), services.presence, queue_size=hub.client_queue, ping_seconds=hub.ping_seconds,
            stall_seconds=services.stall_seconds,
        )

    # --- sending ------------------------------------------------------------------------------

    async def reply(request: web.Request) -> web.Response:
        found, doc = conversation_of(request), await body(request)
        key, text = key_of(doc), text_of(doc, "text")
        reply_to = doc.get("reply_to")
        if reply_to is not None and not isinstance(reply_to, str):
            raise ValueError("reply_to must be a message's WhatsApp id.")
        window_open(found)
        return queued(found, await outbox(request).queue_text(found, text, reply_to=reply_to, key=key))

    async def template(request: web.Request) -> web.Response:
        found, doc = conversation_of(request), await body(request)
        key, name, language = key_of(doc), text_of(doc, "name"), text_of(doc, "language")
        values = doc.get("values", {})
        if not isinstance(values, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
            raise ValueError("values must be an object of strings.")
        chosen = next(
            (t for t in store.templates(found.business_number_id) if t.name == name and t.language == language and t.sendable),
            None,
        )
        if chosen is None:
            raise Refused(422, "invalid", f"There is no approved template {flatten(name, 80)} in {flatten(language, 20)}.")
        return queued(found, await outbox(request).queue_template(found, TemplateChoice(chosen, values), key=key))

    async def send_file(request: web.Request) -> web.Response:
        found, doc = conversation_of(request), await body(request)
        key, caption = key_of(doc), text_of(doc, "caption", empty=True)
        name = Path(text_of(doc, "filename")).name
        if not name or name in {".", ".."}:
            raise ValueError("filename must name a file.")
        try:
            content = base64.b64decode(text_of(doc, "content"), validate=True)
        except binascii.Error:
            raise ValueError("content must be the file in base64.") from None
        window_open(found)
        path = services.files / key / name
        await asyncio.to_thread(_keep, path, content)
        if services.share_file is not None:
            await services.share_file(key, name, content)
        return queued(found, await outbox(request).queue_file(found, path, caption, key=key))

    async def react(request: web.Request) -> web.Response:
        found, doc = conversation_of(request), await body(request)
        key, target, emoji = key_of(doc), text_of(doc, "message_id"), text_of(doc, "emoji", empty=True)
        window_open(found)
        return queued(found, await outbox(request).queue_reaction(found, target, emoji, key=key))

    # --- the queue ----------------------------------------------------------------------------

    async def note(request: web.Request) -> web.Response:
        found, doc = conversation_of(request), await body(request)
        made = await writer(request).add_note(found.id, text_of(doc, "text"))
        return web.json_response({"message": message_to_doc(made)})

    async def claim(request: web.Request) -> web.Response:
        found = conversation_of(request)
        me = agent_of(request).name
        owner = await writer(request).claim(found.id, me)
        if owner != me:
            # The database picked the other agent: the loser is told who, in words and by id.
            raise Refused(409, "conflict", f"{flatten(owner or 'Another agent', 40)} has this conversation.", assignee=owner)
        return web.json_response({"assignee": owner})

    async def assign(request: web.Request) -> web.Response:
        found, doc = conversation_of(request), await body(request)
        assignee = doc.get("assignee")
        if assignee is not None and not isinstance(assignee, str):
            raise ValueError("assignee must be an agent's name, or null for nobody.")
        await writer(request).assign(found.id, assignee or None)
        return web.json_response({"assignee": assignee or None})

    async def status(request: web.Request) -> web.Response:
        found, doc = conversation_of(request), await body(request)
        new = _member(ConversationStatus, doc.get("status"), "status")
        await writer(request).set_status(found.id, new, _time(doc.get("until"), "until"))
        return web.json_response({})

    async def priority(request: web.Request) -> web.Response:
        found, doc = conversation_of(request), await body(request)
        await writer(request).set_priority(found.id, _member(Priority, doc.get("priority"), "priority"))
        return web.json_response({})

    async def labels(request: web.Request) -> web.Response:
        found, doc = conversation_of(request), await body(request)
        given = doc.get("labels")
        if not isinstance(given, list) or not all(isinstance(label, str) for label in given):
            raise ValueError("labels must be a list of strings.")
        await writer(request).set_labels(found.id, given)
        return web.json_response({})

    async def read(request: web.Request) -> web.Response:
        found, doc = conversation_of(request), await body(request)
        await writer(request).mark_read(found.id, _time(doc.get("upto"), "upto"))
        return web.json_response({})

    async def draft(request: web.Request) -> web.Response:
        found, doc = conversation_of(request), await body(request)
        await writer(request).save_draft(found.id, text_of(doc, "text", empty=True))
        return web.json_response({})

    async def presence(request: web.Request) -> web.Response:
        found, doc = conversation_of(request), await body(request)
        state = doc.get("state")
        if state not in events.PRESENCE_STATES:
            raise ValueError(f"state must be one of {', '.join(events.PRESENCE_STATES)}.")
        sighting = events.Sighting(found.id, found.business_number_id, agent_of(request).name, state, context.clock.now())
        services.presence.publish(sighting)
        return web.json_response({})

    # --- the agent's own ----------------------------------------------------------------------

    async def quick_replies(request: web.Request) -> web.Response:
        return web.json_response([quick_reply_to_json(q) for q in store.quick_replies()])

    async def save_quick_reply(request: web.Request) -> web.Response:
        doc = await body(request)
        kept = await writer(request).save_quick_reply(request.match_info["shortcut"], text_of(doc, "text"))
        return web.json_response(quick_reply_to_json(kept))

    async def delete_quick_reply(request: web.Request) -> web.Response:
        if not await writer(request).delete_quick_reply(request.match_info["shortcut"]):
            raise Refused(404, "not_found", "There is no saved quick reply with that shortcut.")
        return web.json_response({})

    def customer_visible(request: web.Request, customer_id: str) -> None:
        access = access_of(request)
        if not any(c.customer.id == customer_id and access.number(c.business_number_id) for c in store.conversations()):
            raise Refused(404, "not_found", "There is no such customer in your departments.")

    async def profile(request: web.Request) -> web.Response:
        customer_id = request.match_info["customer"]
        customer_visible(request, customer_id)
        return web.json_response(profile_to_json(store.customer_profile(customer_id)))

    async def save_profile(request: web.Request) -> web.Response:
        customer_id = request.match_info["customer"]
        customer_visible(request, customer_id)
        kept = await writer(request).save_customer_profile(customer_id, profile_from_json(await body(request)))
        return web.json_response(profile_to_json(kept))

    async def tabs(request: web.Request) -> web.Response:
        return web.json_response({"conversations": store.tabs(agent_of(request).name)})

    async def save_tabs(request: web.Request) -> web.Response:
        given = (await body(request)).get("conversations")
        if not isinstance(given, list) or not all(isinstance(c, str) for c in given):
            raise ValueError("conversations must be a list of conversation ids.")
        await writer(request).save_tabs(given)
        return web.json_response({})

    app = web.Application(middlewares=[guard], client_max_size=MAX_REQUEST)
    app.router.add_get("/me", me)
    app.router.add_get("/numbers", numbers)
    app.router.add_get("/conversations", conversations)
    app.router.add_get("/conversations/{id}", conversation)
    for path, handler in (
        ("reply", reply), ("template", template), ("file", send_file), ("react", react), ("note", note),
        ("claim", claim), ("assign", assign), ("status", status), ("priority", priority), ("labels", labels), ("read", read),
        ("presence", presence),
    ):
        app.router.add_post(f"/conversations/{{id}}/{path}", handler)
    app.router.add_put("/conversations/{id}/draft", draft)
    app.router.add_get("/templates/{number}", templates)
    app.router.add_get("/search", search)
    app.router.add_get("/quick-replies", quick_replies)
    app.router.add_put("/quick-replies/{shortcut}", save_quick_reply)
    app.router.add_delete("/quick-replies/{shortcut}", delete_quick_reply)
    app.router.add_get("/customers/{customer}/profile", profile)
    app.router.add_put("/customers/{customer}/profile", save_profile)
    app.router.add_get("/tabs", tabs)
    app.router.add_put("/tabs", save_tabs)
    app.router.add_get("/events", stream)
    return app


E = TypeVar("E", bound=Enum)


def _member(kind: type[E], value: object, name: str) -> E:
    """`value` as one of `kind`'s values, or the sentence listing them (a 422)."""
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{name} must be one of {', '.join(str(m.value) for m in kind)}.") from None


def _time(value: object, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ValueError(f"{name} must be a time in seconds since the epoch.")
    return ts_from_doc(value)


def _keep(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():  # the same key again: the file kept the first time is the one sent
        path.write_bytes(content)
