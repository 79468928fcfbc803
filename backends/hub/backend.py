"""The desk's backend in hub mode: it sends through the hub, which owns WhatsApp (docs/team.md).

A send is a POST with the outbox's message id as the idempotency key, then a wait for the
outcome on the mirrored message (the hub's sender settles it, the event brings it): SENT, FAILED
(the WhatsApp error the code maps to), or UNKNOWN. When the connection fails after the request
left, the outcome is unknown too, never resent. When the hub cannot be reached at all, nothing
left: the send is refused in the offline sentence, and nothing is queued behind the agent's back.
`events()` yields nothing: the hub applies the webhooks, and the desk follows its store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from backends.base import Backend, Capability, Link, LinkState, News, Presence, Sent
from backends.errors import NotSent, OutcomeUnknown, error_for
from backends.hub.client import HubClient, HubError, Offline, Unauthorized
from backends.hub.store import HubStore, offline_sentence, refused_sentence
from desk.config import ConfigError
from desk.models import BusinessNumber, Customer, Event, Message, MessageStatus, Template, conversation_id

log = logging.getLogger(__name__)

OUTCOME_SECONDS = 90.0
"""How long a send waits for the hub to say what WhatsApp answered (its sender's Graph timeout
and a retry or two); beyond, the outcome is unknown, as when the Graph API does not answer."""

_SETTLED = {MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.FAILED, MessageStatus.UNKNOWN}


class HubBackend(Backend):
    name = "hub"
    capabilities = Capability.TEMPLATES | Capability.SEND_FILES | Capability.REACTIONS | Capability.SHARED

    def __init__(self, client: HubClient, store: HubStore, *, outcome_seconds: float = OUTCOME_SECONDS) -> None:
        self.client = client
        self.store = store
        self._outcome_seconds = outcome_seconds
        self._numbers: list[BusinessNumber] | None = None

    def business_numbers(self) -> list[BusinessNumber]:
        """The hub's numbers this agent may see, read once (an unreachable hub at start: none yet)."""
        if self._numbers is None:
            try:
                self._numbers = self.client.numbers()
            except Offline:
                return []
            except Unauthorized as exc:  # at start: one sentence on stderr, no traceback
                raise ConfigError(refused_sentence(exc)) from None
        return list(self._numbers)

    def identity(self) -> str | None:
        return self.store.agent  # the hub's name for this token (GET /me at open)

    async def events(self) -> AsyncIterator[Event]:
        await asyncio.Event().wait()  # never: the hub applies WhatsApp's events
        return
        yield  # pragma: no cover - makes this an async generator

    # --- SHARED ----------------------------------------------------------------------------------
    @property
    def link(self) -> LinkState | None:
        return self.store.link

    def watch(self, listener: Callable[[News], None]) -> None:
        self.store.watch(listener)

    def others(self, conversation_id: str) -> list[Presence]:
        return self.store.others(conversation_id)

    async def tell_presence(self, conversation_id: str, state: str) -> None:
        if self.store.link.link is not Link.ONLINE:
            return
        try:
            await asyncio.to_thread(self.client.presence, conversation_id, state)
        except HubError as exc:  # presence is a courtesy: never an error for the agent
            log.info("presence %s in %s: %s", state, conversation_id, exc.sentence)

    # --- sending ---------------------------------------------------------------------------------
    async def send_text(
        self, business_number_id: str, customer: Customer, text: str, reply_to: str | None = None,
        *, key: str | None = None,
    ) -> Sent:
        return await self._send(business_number_id, customer, key, lambda cid, k: self.client.reply(cid, k, text, reply_to))

    async def send_template(
        self, business_number_id: str, customer: Customer, template: Template, values: dict[str, str],
        *, key: str | None = None,
    ) -> Sent:
        return await self._send(
            business_number_id, customer, key,
            lambda cid, k: self.client.template(cid, k, template.name, template.language, values),
        )

    async def send_file(
        self, business_number_id: str, customer: Customer, path: Path, caption: str | None = None,
        *, key: str | None = None,
    ) -> Sent:
        content = await asyncio.to_thread(path.read_bytes)
        return await self._send(business_number_id, customer, key, lambda cid, k: self.client.file(cid, k, path.name, content, caption))

    async def send_reaction(
        self, business_number_id: str, customer: Customer, message_id: str, emoji: str, *, key: str | None = None
    ) -> Sent:
        return await self._send(business_number_id, customer, key, lambda cid, k: self.client.react(cid, k, message_id, emoji))

    async def _send(self, business_number_id: str, customer: Customer, key: str | None,
                    post: Callable[[str, str], Message]) -> Sent:
        if key is None:
            raise ValueError("a send through the hub needs the outbox's message id as its key")
        cid = conversation_id(business_number_id, customer.id)
        if self.store.link.link is not Link.ONLINE:
            raise NotSent(self.store.link.sentence or offline_sentence(self.client.url))
        after = self.store.last_change()
        try:
            copy = await asyncio.to_thread(post, cid, key)
        except Offline as exc:
            if exc.may_have_arrived:
                raise OutcomeUnknown(f"the connection to the hub failed after the send left: {exc.sentence}") from None
            raise NotSent(offline_sentence(self.client.url)) from None
        except HubError as exc:
            if exc.status >= 500 and exc.status != 503:
                raise OutcomeUnknown(f"the hub failed while sending: {exc.sentence}") from None
            raise NotSent(exc.sentence) from None
        self.store.hub_copy(cid, key, copy)
        return await self._outcome(cid, key, copy, after)

    async def _outcome(self, cid: str, key: str, copy: Message, after: int) -> Sent:
        """Wait for the mirrored message to settle (the store announces each change to it)."""
        async def settled() -> Message:
            message = self.store.find(cid, key) or copy
            if message.status in _SETTLED:
                return message
            async for change in self.store.changes(after):
                if change.conversation_id in (cid, None):
                    message = self.store.find(cid, key) or message
                    if message.status in _SETTLED:
                        return message
            raise AssertionError("unreachable: changes() never ends")

        try:
            message = await asyncio.wait_for(settled(), self._outcome_seconds)
        except asyncio.TimeoutError:
            raise OutcomeUnknown("the hub has not said what WhatsApp answered") from None
        if message.status is MessageStatus.FAILED:
            raise error_for(message.error_code or 131000, message.error_text or "")
        if message.status is MessageStatus.UNKNOWN:
            raise OutcomeUnknown(message.error_text or "the hub does not know whether WhatsApp took it")
        return Sent(message.wamid or message.id, message.status_at or message.timestamp)

    # --- what the hub keeps ------------------------------------------------------------------------
    async def templates(self, business_number_id: str) -> list[Template]:
        return self.store.templates(business_number_id)

    async def stop(self) -> None:
        pass

