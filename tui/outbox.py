"""Sending, without ever losing or blindly resending a message.

Each send is recorded durably (QUEUED) before anything leaves, marked SENDING just before the
request, then settled: SENT with WhatsApp's id, FAILED with WhatsApp's code and a sentence, or
UNKNOWN when the request left and no answer came back. Nothing is resent unless the agent asks.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from backends.base import Backend, Sent
from backends.errors import OutcomeUnknown, WhatsAppError, failure_text
from desk.clock import Clock
from desk.models import Conversation, Direction, Media, Message, MessageStatus, TemplateChoice, file_kind
from desk.store import Store

log = logging.getLogger(__name__)

Write = Callable[..., Awaitable[Any]]
"""Runs a store call on the single writer thread: `await write(store.method, *args)`."""


@dataclass
class Outbox:
    store: Store
    backend: Backend
    clock: Clock
    write: Write
    on_change: Callable[[str], None]
    """Told the conversation id after every recorded step, so screens can show it."""
    agent: str = "agent"

    async def queue_text(self, conversation: Conversation, text: str, replaces: str | None = None) -> Message:
        """Record free text for sending; durable when this returns (the composer may then clear).
        `replaces`: the failed or unknown message the agent edited into this one."""
        message = replace(self._new(conversation, "text", text), replaces=replaces)
        return await self._record(message)

    async def queue_template(self, conversation: Conversation, choice: TemplateChoice) -> Message:
        template = choice.template
        message = self._new(
            conversation, "template", template.render(choice.values), template=str(template.key)
        )
        message = replace(message, template_values=tuple(choice.values.items()))
        return await self._record(message)

    async def queue_file(self, conversation: Conversation, path: Path, caption: str) -> Message:
        """Record a local file for sending (kept by its path, so a failed send can be retried)."""
        kind, mime = file_kind(path.name)
        media = Media(kind, mime, caption or None, path.name, path.stat().st_size, path=str(path))
        return await self._record(replace(self._new(conversation, kind, caption), media=media))

    async def deliver(self, conversation: Conversation, message: Message, choice: TemplateChoice | None = None) -> Message:
        """Send a QUEUED message and record the outcome. Never raises for WhatsApp's answers."""
        await self._set(message, MessageStatus.SENDING)
        try:
            if choice is not None:
                sent: Sent = await self.backend.send_template(
                    conversation.business_number_id, conversation.customer, choice.template, choice.values
                )
            elif message.media is not None and message.media.path:
                sent = await self.backend.send_file(
                    conversation.business_number_id, conversation.customer, Path(message.media.path), message.text
                )
            else:
                sent = await self.backend.send_text(conversation.business_number_id, conversation.customer, message.text)
        except WhatsAppError as exc:
            return await self._set(message, MessageStatus.FAILED, error_code=exc.code, error_text=failure_text(exc.code, exc.details))
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

    def _new(self, conversation: Conversation, type_: str, text: str, template: str | None = None) -> Message:
        return Message(
            id=f"local.{uuid.uuid4().hex}",
            conversation_id=conversation.id,
            direction=Direction.OUTBOUND,
            type=type_,
            timestamp=self.clock.now(),
            status=MessageStatus.QUEUED,
            text=text,
            template=template,
            agent=self.agent,
        )

    async def _record(self, message: Message) -> Message:
        message = await self.write(self.store.record_outgoing, message)
        self.on_change(message.conversation_id)
        return message

    async def _set(self, message: Message, status: MessageStatus, **fields: Any) -> Message:
        message = await self.write(
            self.store.update_outgoing, message.conversation_id, message.id, status, at=self.clock.now(), **fields
        )
        self.on_change(message.conversation_id)
        return message

