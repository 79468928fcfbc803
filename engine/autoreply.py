"""Greeting and away messages, sent by the engine as customers' messages arrive: the desk and
`wadesk serve` alike (desk.autoreply has the rules).

The pump hands each stored event here before it asks for the next batch, so the decision for one
message is made after the one before it has queued its own automatic message: two messages in
one burst never both get a greeting. An automatic message is queued durably through the outbox
(signed by nobody), then delivered by the face's own `deliver` (the desk's: a failure is told like
any other send's), or by a task here for `wadesk serve`.

Whether one was already sent is read from the transcript (desk.autoreply). To keep that read off
the path of every message, the engine remembers, per conversation, the episode (`opened_at`) whose
greeting was settled (sent, or not called for: only an episode's first question can have one); a
restart forgets it, and the first message after reads the transcript once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from backends.errors import error_sentence
from desk import autoreply
from desk.autoreply import AutoReplies
from desk.models import Conversation, Direction, Event, Message, MessageReceived, MessageStatus, conversation_id
from engine.context import DeskContext
from engine.outbox import Outbox

log = logging.getLogger(__name__)

Deliver = Callable[[Conversation, Message], None]
"""Send a queued message in the background and tell its failure (the face's way)."""


class AutoReplier:
    def __init__(
        self, context: DeskContext, outbox: Outbox, tell: Callable[[str], None], deliver: Deliver | None = None
    ) -> None:
        self._ctx = context
        self._outbox = outbox
        self._tell = tell
        self._deliver = deliver or self._deliver_in_a_task
        self._replies = {
            n.id: AutoReplies(*context.config.greeting_and_away(n.id)) for n in context.numbers()
        }
        self._greeted: dict[str, datetime | None] = {}
        """conversation id -> the episode whose greeting is settled."""
        self._sending: set[asyncio.Task[Message]] = set()

    async def answer(self, event: Event) -> list[Message]:
        """Queue and deliver what the stored `event` calls for (usually nothing); returns what was
        queued. A failure (the store cannot write) is logged and told, and the pump goes on: the
        customer's message is stored, only the automatic answer to it is lost."""
        try:
            return await self._answer(event)
        except Exception as exc:  # noqa: BLE001 - one lost greeting never stops the pump
            log.exception("an automatic message could not be queued for %r", event)
            self._tell(f"An automatic greeting or away message could not be queued: {error_sentence(exc)}")
            return []

    async def _answer(self, event: Event) -> list[Message]:
        if not isinstance(event, MessageReceived) or event.message.direction is not Direction.INBOUND:
            return []
        replies = self._replies.get(event.business_number_id)
        if replies is None or replies.off:
            return []  # the default: costs nothing per message
        ctx = self._ctx
        cid = conversation_id(event.business_number_id, event.customer.id)
        conversation = ctx.store.conversation(cid)
        if conversation is None:
            return []
        now = ctx.clock.now()
        hours = ctx.policy(event.business_number_id).hours
        settled = cid in self._greeted and self._greeted[cid] == conversation.opened_at
        if (settled or not replies.greeting) and not (replies.away and autoreply.outside_hours(hours, now)):
            return []
        kinds = autoreply.due(conversation, ctx.store.messages(cid), event.message, replies, hours, now)
        self._greeted[cid] = conversation.opened_at
        queued = []
        for kind in kinds:
            queued.append(await self._queue(conversation, kind, replies, max(now, event.message.timestamp)))
        return queued

    async def _queue(self, conversation: Conversation, kind: str, replies: AutoReplies, at: datetime) -> Message:
        department = self._ctx.number(conversation.business_number_id).department
        message = Message(
            id=f"local.{uuid.uuid4().hex}",
            conversation_id=conversation.id,
            direction=Direction.OUTBOUND,
            type=kind,
            # Never before the customer's message (a clock behind WhatsApp's): it is part of the
            # episode that message opened, which is how a restart finds it.
            timestamp=at,
            status=MessageStatus.QUEUED,
            text=autoreply.text(kind, replies, conversation, self._ctx.config.agent_name, department),
        )
        recorded = await self._outbox.writer.record_automatic(message)
        log.info("automatic %s message queued for %s", kind, conversation.id)
        self._deliver(conversation, recorded)
        return recorded

    def _deliver_in_a_task(self, conversation: Conversation, message: Message) -> None:
        task = asyncio.get_running_loop().create_task(self._outbox.deliver(conversation, message))
        self._sending.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[Message]) -> None:
        self._sending.discard(task)
        if task.cancelled():
            return
        if task.exception() is not None:
            log.error("an automatic message could not be sent", exc_info=task.exception())
            return
        result = task.result()
        if result.status is not MessageStatus.SENT:
            log.warning("automatic message %s to %s: %s", result.id, result.conversation_id, result.error_text)

    async def settled(self) -> None:
        """Wait for the sends this engine started itself (tests, and serve before it stops)."""
        while self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
