"""The API's services for the embedded desk (its Unix socket, the CLI's direct mode): the desk's
own agent as the only one (hub.access.LocalDirectory), and the engine's outbox as the sender."""

from __future__ import annotations

import asyncio
import logging

from desk.models import Conversation, Message
from engine import Engine
from hub.access import Agent, LocalDirectory, Role
from hub.api import Services
from hub.events import Presence

log = logging.getLogger(__name__)


class OutboxDispatch:
    """Sends each QUEUED message the API hands over once, through the engine's outbox (which
    records every step), in a task of the running loop; `settled()` waits for those under way."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._taken: set[str] = set()
        self._tasks: set[asyncio.Task[Message]] = set()

    def __call__(self, conversation: Conversation, message: Message) -> None:
        if message.id in self._taken:  # the same key again: sent (or being sent) already
            return
        self._taken.add(message.id)
        outbox = self._engine.outbox
        choice = outbox.template_choice(conversation, message) if message.type == "template" else None
        task = asyncio.get_running_loop().create_task(outbox.deliver(conversation, message, choice))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settled(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def local_services(engine: Engine) -> tuple[Services, OutboxDispatch]:
    context = engine.context
    # Signed as the desk signs its own writes (its agent_name), so the audit log names one person.
    agent = Agent(context.config.agent_name, Role.ADMIN)
    dispatch = OutboxDispatch(engine)
    services = Services(
        context, engine.writer.signed(agent.name), LocalDirectory(agent), dispatch, Presence(context.clock),
        context.data_dir / "outgoing",
    )
    return services, dispatch
