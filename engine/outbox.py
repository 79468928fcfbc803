"""Sending, without ever losing or blindly resending a message.

Each send is recorded durably (QUEUED) before anything leaves, marked SENDING just before the
request, then settled: SENT with WhatsApp's id, FAILED with WhatsApp's code and a sentence, or
UNKNOWN when the request left and no answer came back. Nothing is resent unless the agent asks.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from backends.base import Backend, Sent
from backends.errors import NotSent, OutcomeUnknown, WhatsAppError, failure_text
from desk.clock import Clock
from desk.models import Conversation, Direction, Media, Message, MessageStatus, TemplateChoice, file_kind
from desk.summary import AUTOMATIC
from desk.window import window
from engine.writer import StoreWriter

log = logging.getLogger(__name__)

NO_LONGER_APPROVED = "The template is no longer approved; pick another."
WINDOW_CLOSED = "The 24-hour window closed before this automatic message could go: it was not sent."


@dataclass
class Outbox:
    """Every step is written through the store's one writer; the store announces it
    (`Store.changes()`), so whoever shows the conversation sees each step."""

    writer: StoreWriter
    backend: Backend
    clock: Clock

    @property
    def agent(self) -> str:
        return self.writer.agent

    async def queue_text(
        self, conversation: Conversation, text: str, replaces: str | None = None, reply_to: str | None = None,
        *, key: str | None = None,
    ) -> Message:
        """Record free text for sending; durable when this returns (the composer may then clear).
        `replaces`: the failed or unknown message the agent edited into this one. `reply_to`:
        WhatsApp's id of the message it quotes (desk.quoting.whatsapp_id).

        `key` (every queue_ call): the idempotency key a client of the hub gave, which becomes the
        message's id: the same key again finds the message recorded the first time (the store's
        record_outgoing is idempotent by id), and nothing new is queued."""
        message = replace(self._new(conversation, "text", text, key=key), replaces=replaces, reply_to=reply_to)
        return await self._record(message)

    async def queue_reaction(
        self, conversation: Conversation, message_id: str, emoji: str, *, key: str | None = None
    ) -> Message:
        """Record our reaction (`emoji`; "" removes ours) to the customer's message `message_id`
        (its WhatsApp id), durably before it is sent, like any send: a failed one shows failed."""
        return await self._record(replace(self._new(conversation, "reaction", emoji, key=key), reaction_to=message_id))

    async def queue_template(self, conversation: Conversation, choice: TemplateChoice, *, key: str | None = None) -> Message:
        template = choice.template
        message = self._new(
            conversation, "template", template.render(choice.values), template=str(template.key), key=key
        )
        message = replace(message, template_values=tuple(choice.values.items()))
        return await self._record(message)

    async def queue_file(self, conversation: Conversation, path: Path, caption: str, *, key: str | None = None) -> Message:
        """Record a local file for sending (kept by its path, so a failed send can be retried)."""
        kind, mime = file_kind(path.name)
        media = Media(kind, mime, caption or None, path.name, path.stat().st_size, path=str(path))
        return await self._record(replace(self._new(conversation, kind, caption, key=key), media=media))

    async def deliver(self, conversation: Conversation, message: Message, choice: TemplateChoice | None = None) -> Message:
        """Send a QUEUED message and record the outcome. Never raises for WhatsApp's answers."""
        if message.type in AUTOMATIC and not self._window_open(message):
            # Checked again here, at send time: one queued before a restart may find it closed.
            return await self._set(message, MessageStatus.FAILED, error_text=WINDOW_CLOSED)
        await self._set(message, MessageStatus.SENDING)
        try:
            if choice is not None:
                sent: Sent = await self.backend.send_template(
                    conversation.business_number_id, conversation.customer, choice.template, choice.values, key=message.id
                )
            elif message.media is not None and message.media.path:
                sent = await self.backend.send_file(
                    conversation.business_number_id, conversation.customer, Path(message.media.path), message.text,
                    key=message.id,
                )
            elif message.type == "reaction":
                sent = await self.backend.send_reaction(
                    conversation.business_number_id, conversation.customer, message.reaction_to or "", message.text,
                    key=message.id,
                )
            else:
                sent = await self.backend.send_text(
                    conversation.business_number_id, conversation.customer, message.text, message.reply_to,
                    key=message.id,
                )
        except WhatsAppError as exc:
            return await self._set(message, MessageStatus.FAILED, error_code=exc.code, error_text=failure_text(exc.code, exc.details))
        except NotSent as exc:  # nothing left (the hub unreachable): failed, in the backend's words
            return await self._set(message, MessageStatus.FAILED, error_text=exc.sentence)
        except OutcomeUnknown as exc:
            log.warning("send %s: outcome unknown: %s", message.id, exc)
            return await self._set(message, MessageStatus.UNKNOWN, error_text="No answer from WhatsApp: it may or may not have been sent.")
        except Exception:
            # A bug or a dropped connection after the request left: we cannot know. Say so.
            log.exception("send %s failed unexpectedly", message.id)
            return await self._set(message, MessageStatus.UNKNOWN, error_text="The send was interrupted: it may or may not have been sent.")
        return await self._set(message, MessageStatus.SENT, wamid=sent.wamid)

    async def resend(self, message: Message) -> Message:
        """The agent asked to retry a FAILED or UNKNOWN message: a new copy, QUEUED at the end of
        the transcript with the time of this send; the old one stays as it was (it may yet have
        reached the customer, if UNKNOWN) and names no retry of its own."""
        copy = replace(
            message,
            id=f"local.{uuid.uuid4().hex}",
            timestamp=self.clock.now(),
            status=MessageStatus.QUEUED,
            wamid=None,
            error_code=None,
            error_text=None,
            status_at=None,
            agent=self.agent,
            replaces=message.id,
        )
        return await self._record(copy)

    def _new(
        self, conversation: Conversation, type_: str, text: str, template: str | None = None, key: str | None = None
    ) -> Message:
        return Message(
            id=key or f"local.{uuid.uuid4().hex}",
            conversation_id=conversation.id,
            direction=Direction.OUTBOUND,
            type=type_,
            timestamp=self.clock.now(),
            status=MessageStatus.QUEUED,
            text=text,
            template=template,
            agent=self.agent,
        )

    async def resumable(self) -> list[tuple[Conversation, Message, TemplateChoice | None]]:
        """What the agent sent but a crash kept from leaving (QUEUED: the request never left, so
        sending it now cannot make a duplicate), to deliver again. A template no longer approved
        is marked FAILED instead, with a sentence."""
        store = self.writer.store
        found = []
        for message in await self.writer.queued():
            conversation = store.conversation(message.conversation_id)
            if conversation is None:
                continue
            choice = self.template_choice(conversation, message) if message.type == "template" else None
            if message.type == "template" and choice is None:
                await self._set(message, MessageStatus.FAILED, error_text=NO_LONGER_APPROVED)
                continue
            found.append((conversation, message, choice))
        return found

    def template_choice(self, conversation: Conversation, message: Message) -> TemplateChoice | None:
        """The approved template and values a template message was sent with, to send it again."""
        for template in self.writer.store.templates(conversation.business_number_id):
            if str(template.key) == message.template and template.sendable:
                return TemplateChoice(template, dict(message.template_values))
        return None

    def _window_open(self, message: Message) -> bool:
        current = self.writer.store.conversation(message.conversation_id)
        return current is not None and window(current.last_inbound_at, self.clock.now()).open

    async def _record(self, message: Message) -> Message:
        return await self.writer.record_outgoing(message)

    async def _set(self, message: Message, status: MessageStatus, **fields: Any) -> Message:
        return await self.writer.update_outgoing(
            message.conversation_id, message.id, status, at=self.clock.now(), **fields
        )

