"""The hub's HTTP API (docs/team.md) as typed calls: one method per REST call, and the event stream.

The REST calls are synchronous (httpx.Client): the desk's store makes them from its one writer
thread, the CLI from its main thread. The event stream (`events`) is async, over httpx-sse. Every
failure is an exception carrying the hub's own sentence (`HubError.sentence`); a hub that cannot be
reached is `Offline`, naming the hub's URL. The token is sent in each request's header and nowhere
else: no log line, error, sentence or repr holds it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from backends.base import Presence
from desk.codec import (
    conversation_from_row,
    message_from_doc,
    template_from_doc,
    ts_from_doc,
    ts_to_doc,
)
from desk.customer import CustomerProfile
from desk.models import BusinessNumber, Conversation, ConversationStatus, Message, Priority, Template
from desk.quick_replies import QuickReply
from desk.store.audit import AuditEntry
from desk.store.contract import Change, ChangeKind, SearchHit
from desk.wire import audit_from_json, change_from_json, hit_from_json, profile_from_json, profile_to_json, quick_reply_from_json

API = "/api/v1"
TIMEOUT = 10.0
"""Seconds a REST call may take (connect, read, write each): a hub on a LAN answers in
milliseconds; beyond this the desk says it is offline rather than freeze a writer."""
IDLE_SECONDS = 45.0
"""Seconds the event stream may stay silent: the hub pings every [hub] ping_seconds (15 by
default), so three missed pings mean the connection is dead though no reset came."""


# --- errors -------------------------------------------------------------------------------------------


class HubError(Exception):
    """The hub refused or failed a request; `sentence` is its answer for the agent."""

    def __init__(self, sentence: str, *, status: int = 0, code: str = "") -> None:
        super().__init__(sentence)
        self.sentence = sentence
        self.status = status
        self.code = code


class Unauthorized(HubError):
    """401: no token, or one the hub does not know."""


class Revoked(Unauthorized):
    """401 revoked: an admin revoked this agent's token; the sentence says so (and by whom)."""


class Forbidden(HubError):
    """403: outside this agent's departments or role."""


class NotFound(HubError):
    """404: no such conversation (or none this agent may know of)."""


class Conflict(HubError):
    """409: a claim lost; `assignee` has the conversation."""

    def __init__(self, sentence: str, assignee: str | None, *, status: int = 409, code: str = "conflict") -> None:
        super().__init__(sentence, status=status, code=code)
        self.assignee = assignee


class Invalid(HubError, ValueError):
    """422: the domain refused what was asked (a quick reply's shortcut, a profile too long), in
    its sentence. A ValueError too, as the store contract raises for the same refusals."""


class Unavailable(HubError):
    """503: the hub's store cannot take it now; later may work."""


class Offline(HubError):
    """The hub could not be reached (connection refused, reset, timed out). `may_have_arrived`:
    the request was sent before the connection failed, so the hub may have acted on it (a send's
    outcome is then unknown); False when it never left (refused at connect)."""

    def __init__(self, url: str, reason: str, *, may_have_arrived: bool) -> None:
        super().__init__(f"Cannot reach the hub at {url} ({reason}).", code="offline")
        self.url = url
        self.may_have_arrived = may_have_arrived


_BY_CODE: dict[str, type[HubError]] = {
    "unauthorized": Unauthorized,
    "revoked": Revoked,
    "forbidden": Forbidden,
    "not_found": NotFound,
    "invalid": Invalid,
    "unavailable": Unavailable,
}
_BY_STATUS: dict[int, type[HubError]] = {401: Unauthorized, 403: Forbidden, 404: NotFound, 422: Invalid, 503: Unavailable}


def _error(response: httpx.Response) -> HubError:
    """The hub's error answer as its exception: `{"error": sentence, "code": word}` (docs/team.md)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    sentence = body.get("error")
    if not isinstance(sentence, str) or not sentence:
        sentence = f"The hub answered {response.status_code} {response.reason_phrase}."
    code = str(body.get("code", ""))
    if response.status_code == 409 or code == "conflict":
        assignee = body.get("assignee")
        return Conflict(sentence, assignee if isinstance(assignee, str) else None, status=response.status_code)
    cls = _BY_CODE.get(code) or _BY_STATUS.get(response.status_code, HubError)
    return cls(sentence, status=response.status_code, code=code)


def _reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused"
    return "connection lost"


def _offline(url: str, exc: httpx.TransportError) -> Offline:
    # A connect error or a connect/pool timeout: the request never left. Anything later (a write or
    # read timeout, a reset, the hub closing mid-answer) may have reached the hub.
    never_left = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    return Offline(url, _reason(exc), may_have_arrived=not never_left)


# --- what the API answers -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Me:
    agent: str
    role: str
    departments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Detail:
    """GET /conversations/{id}: a conversation whole, as this agent sees it."""

    conversation: Conversation
    messages: list[Message]
    audit: list[AuditEntry]
    draft: str
    presence: list[Presence]
    """Who else is in it now (the stream tells only what changes after)."""


PRESENCE_STATES = ("viewing", "typing", "left")


def _path(*parts: str) -> str:
    return "/" + "/".join(quote(part, safe="") for part in parts)


# --- the client ---------------------------------------------------------------------------------------


class HubClient:
    """One agent's connection to one hub. `transport` (sync) and `async_transport` replace the
    network, e.g. httpx.HTTPTransport(uds=path) for the embedded desk's Unix socket."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = TIMEOUT,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self._async_transport = async_transport
        self._idle = idle_seconds
        self._http = httpx.Client(
            base_url=self.url + API,
            headers=self._headers(),
            transport=transport,
            timeout=timeout,
        )

    def __repr__(self) -> str:
        return f"HubClient({self.url!r})"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the one request function ---------------------------------------------------------------------
    def _call(self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None) -> Any:
        try:
            response = self._http.request(method, path, json=body, params=params)
        except httpx.TransportError as exc:
            raise _offline(self.url, exc) from None  # from None: the request (and its header) stays out
        if response.status_code >= 400:
            raise _error(response)
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise HubError(f"The hub at {self.url} answered something that is not JSON.", status=response.status_code) from None

    # --- who and where --------------------------------------------------------------------------------
    def me(self) -> Me:
        doc = self._call("GET", "/me")
        return Me(str(doc["agent"]), str(doc.get("role", "agent")), tuple(doc.get("departments", ())))

    def numbers(self) -> list[BusinessNumber]:
        """The business numbers (departments) this agent may see."""
        return [BusinessNumber(str(n["id"]), str(n.get("display", n["id"])), str(n.get("department", ""))) for n in self._call("GET", "/numbers")]

    # --- conversations --------------------------------------------------------------------------------
    def conversations(self) -> tuple[int, list[Conversation]]:
        """(the number of the latest change, every conversation this agent may see)."""
        doc = self._call("GET", "/conversations")
        return int(doc.get("last_change", 0)), [conversation_from_row(row) for row in doc.get("conversations", ())]

    def conversation(self, conversation_id: str) -> Detail:
        doc = self._call("GET", "/conversations" + _path(conversation_id))
        return Detail(
            conversation_from_row(doc["conversation"]),
            [message_from_doc(m, conversation_id) for m in doc.get("messages", ())],
            [audit_from_json(e) for e in doc.get("audit", ())],
            str(doc.get("draft") or ""),
            [Presence(conversation_id, str(p["agent"]), str(p["state"]), ts_from_doc(p.get("at"))) for p in doc.get("presence", ())],
        )

    def _post(self, conversation_id: str, what: str, body: Any = None) -> Any:
        return self._call("POST", "/conversations" + _path(conversation_id, what), body if body is not None else {})

    def _message(self, conversation_id: str, doc: Any) -> Message:
        return message_from_doc(doc["message"], conversation_id)

    # --- sending: `key` is the idempotency key (the same key again sends nothing) ---------------------
    def reply(self, conversation_id: str, key: str, text: str, reply_to: str | None = None) -> Message:
        body: dict[str, Any] = {"key": key, "text": text}
        if reply_to is not None:
            body["reply_to"] = reply_to
        return self._message(conversation_id, self._post(conversation_id, "reply", body))

    def template(self, conversation_id: str, key: str, name: str, language: str, values: dict[str, str]) -> Message:
        body = {"key": key, "name": name, "language": language, "values": dict(values)}
        return self._message(conversation_id, self._post(conversation_id, "template", body))

    def file(self, conversation_id: str, key: str, filename: str, content: bytes, caption: str | None = None) -> Message:
        body = {"key": key, "filename": filename, "content": base64.b64encode(content).decode("ascii"), "caption": caption or ""}
        return self._message(conversation_id, self._post(conversation_id, "file", body))

    def react(self, conversation_id: str, key: str, message_id: str, emoji: str) -> Message:
        body = {"key": key, "message_id": message_id, "emoji": emoji}
        return self._message(conversation_id, self._post(conversation_id, "react", body))

    # --- the agent's actions --------------------------------------------------------------------------
    def note(self, conversation_id: str, text: str) -> Message:
        return self._message(conversation_id, self._post(conversation_id, "note", {"text": text}))

    def claim(self, conversation_id: str) -> str:
        """This agent takes the conversation; returns the assignee (this agent). Lost: Conflict,
        naming who has it."""
        return str(self._post(conversation_id, "claim")["assignee"])

    def assign(self, conversation_id: str, assignee: str | None) -> str | None:
        found = self._post(conversation_id, "assign", {"assignee": assignee}).get("assignee")
        return None if found is None else str(found)

    def set_status(self, conversation_id: str, status: ConversationStatus, until: datetime | None = None) -> None:
        body: dict[str, Any] = {"status": status.value}
        if until is not None:
            body["until"] = ts_to_doc(until)
        self._post(conversation_id, "status", body)

    def set_priority(self, conversation_id: str, priority: Priority) -> None:
        self._post(conversation_id, "priority", {"priority": priority.value})

    def set_labels(self, conversation_id: str, labels: Iterable[str]) -> None:
        self._post(conversation_id, "labels", {"labels": list(labels)})

    def mark_read(self, conversation_id: str, upto: datetime | None = None) -> None:
        self._post(conversation_id, "read", {} if upto is None else {"upto": ts_to_doc(upto)})

    def save_draft(self, conversation_id: str, text: str) -> None:
        self._call("PUT", "/conversations" + _path(conversation_id, "draft"), {"text": text})

    def presence(self, conversation_id: str, state: str) -> None:
        """Tell the others this agent is viewing, typing in or has left the conversation."""
        if state not in PRESENCE_STATES:
            raise ValueError(f"presence state {state!r} is not one of {', '.join(PRESENCE_STATES)}")
        self._post(conversation_id, "presence", {"state": state})

    # --- templates and search -------------------------------------------------------------------------
    def templates(self, business_number_id: str) -> tuple[datetime | None, list[Template]]:
        doc = self._call("GET", "/templates" + _path(business_number_id))
        return ts_from_doc(doc.get("synced_at")), [template_from_doc(t) for t in doc.get("templates", ())]

    def search(self, query: str) -> list[SearchHit]:
        return [hit_from_json(hit) for hit in self._call("GET", "/search", params={"q": query}).get("hits", ())]

    # --- the team's quick replies, what agents know of customers, this agent's tabs -------------------
    def quick_replies(self) -> list[QuickReply]:
        return [quick_reply_from_json(q) for q in self._call("GET", "/quick-replies")]

    def save_quick_reply(self, shortcut: str, text: str) -> QuickReply:
        return quick_reply_from_json(self._call("PUT", "/quick-replies" + _path(shortcut), {"text": text}))

    def delete_quick_reply(self, shortcut: str) -> bool:
        try:
            self._call("DELETE", "/quick-replies" + _path(shortcut))
        except NotFound:
            return False
        return True

    def customer_profile(self, customer_id: str) -> CustomerProfile:
        return profile_from_json(self._call("GET", "/customers" + _path(customer_id, "profile")))

    def save_customer_profile(self, customer_id: str, profile: CustomerProfile) -> CustomerProfile:
        return profile_from_json(self._call("PUT", "/customers" + _path(customer_id, "profile"), profile_to_json(profile)))

    def tabs(self) -> list[str]:
        return [str(cid) for cid in self._call("GET", "/tabs").get("conversations", ())]

    def save_tabs(self, conversation_ids: Sequence[str]) -> None:
        self._call("PUT", "/tabs", {"conversations": list(conversation_ids)})

    # --- the event stream -----------------------------------------------------------------------------
    async def events(self, after: int, opened: Callable[[], None] = lambda: None) -> AsyncIterator[Change | Presence]:
        """The hub's changes after number `after` (a resync first when the hub no longer keeps
        them all: a Change of kind RESYNC), then each one as it is committed, and other agents'
        presence between them. Ends when the hub closes the stream; Offline when the connection
        fails or stays silent beyond `idle_seconds`. The caller reconnects from the last seq it
        handled. `opened()` once the hub has accepted the stream (the desk is online again)."""
        from httpx_sse import aconnect_sse  # the [team] extra's: the CLI and the local desk never stream

        timeout = httpx.Timeout(TIMEOUT, read=self._idle)
        headers = {**self._headers(), "Accept": "text/event-stream", "Last-Event-ID": str(after)}
        try:
            async with httpx.AsyncClient(base_url=self.url + API, transport=self._async_transport, timeout=timeout) as http:
                async with aconnect_sse(http, "GET", "/events", headers=headers) as source:
                    if source.response.status_code >= 400:
                        await source.response.aread()
                        raise _error(source.response)
                    opened()
                    async for sse in source.aiter_sse():
                        if not sse.data:
                            continue
                        try:
                            data = json.loads(sse.data)
                        except ValueError:
                            continue  # not ours to understand; the next change reads the state anyway
                        if sse.event == "change":
                            yield change_from_json(data)
                        elif sse.event == "resync":
                            yield Change(int(data["seq"]), ChangeKind.RESYNC)
                        elif sse.event == "presence":
                            yield Presence(str(data["conversation_id"]), str(data["agent"]), str(data["state"]), ts_from_doc(data.get("at")))
        except httpx.TransportError as exc:
            raise _offline(self.url, exc) from None
