"""Greeting and away messages: the one home of when the desk answers by itself.

Each business number may have a greeting and an away message (config `greeting` and `away` on its
entry; empty: off), with the quick replies' variables (desk.quick_replies). When a customer's
question arrives (not a reaction or a system message):

- the greeting goes when it is the first question of the episode (a new conversation, or the first
  since it was resolved: `Conversation.opened_at`);
- the away message goes when it arrives outside the number's business hours (its SLA's, desk.sla);

each at most once per episode, only while the 24-hour window is open, only for a question the
customer wrote at most FRESH ago (a webhook Meta kept retrying for hours, or the mock's history at
a first start, is not greeted late, nor told "we are closed" once we are open), and neither once an
agent has written in the episode (a person is answering; a note does not count).

What was sent is read from the transcript, never from memory: an automatic message is a message of
type "greeting" or "away" (desk.summary.AUTOMATIC, which answers nothing: the SLA clock runs on and
nothing reads as seen), so a duplicate webhook or a restart finds it and never sends a second. A
failed or unknown one counts as sent too: it may have reached the customer, and the agent sees its
failure as any other and may retry it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from desk.models import Conversation, Direction, Message
from desk.quick_replies import fill, values
from desk.sla import BusinessHours, next_opening
from desk.summary import AUTOMATIC, AWAY, GREETING, NOT_A_QUESTION, NOT_A_REPLY
from desk.window import window

FRESH = timedelta(minutes=15)
"""The oldest question (by the customer's timestamp, against the desk's clock) that is still
answered automatically."""


@dataclass(frozen=True, slots=True)
class AutoReplies:
    """One business number's automatic messages; "" is off."""

    greeting: str = ""
    away: str = ""

    @property
    def off(self) -> bool:
        return not self.greeting and not self.away


def outside_hours(hours: BusinessHours, at: datetime) -> bool:
    """Whether `at` falls outside the business hours: when the SLA clocks stand still
    (desk.sla.next_opening), so "closed" means the same for both. Hours with no business day at
    all never open, and are not "outside" either: such an SLA never runs, and nothing says when
    we would be back."""
    return next_opening(at, hours) is not None


def episode(conversation: Conversation, messages: Sequence[Message]) -> list[Message]:
    """The messages of the conversation's current episode: from `opened_at` on (all of them when
    it never opened)."""
    start = conversation.opened_at
    return [m for m in messages if start is None or m.timestamp >= start]


def due(
    conversation: Conversation,
    messages: Sequence[Message],
    arrived: Message,
    replies: AutoReplies,
    hours: BusinessHours,
    now: datetime,
) -> list[str]:
    """Which automatic messages `arrived` (a customer's message, already in `messages`, the
    transcript oldest first) calls for now: GREETING, AWAY, both in that order, or none."""
    if replies.off or arrived.direction is not Direction.INBOUND or arrived.type in NOT_A_QUESTION:
        return []
    if not window(conversation.last_inbound_at, now).open or now - min(arrived.timestamp, now) > FRESH:
        return []
    current = episode(conversation, messages)
    ours = {m.type for m in current if m.direction is Direction.OUTBOUND}
    if ours - AUTOMATIC - NOT_A_REPLY:
        return []  # an agent has written in this episode
    kinds = []
    questions = [m for m in current if m.direction is Direction.INBOUND and m.type not in NOT_A_QUESTION]
    if replies.greeting and GREETING not in ours and questions and questions[0].id == arrived.id:
        kinds.append(GREETING)
    if replies.away and AWAY not in ours and outside_hours(hours, now):
        kinds.append(AWAY)
    return kinds


def text(kind: str, replies: AutoReplies, conversation: Conversation, agent_name: str, department: str) -> str:
    """What the customer gets: the configured text with its variables filled, a variable with no
    value left out (no agent reads it before it goes)."""
    template = replies.greeting if kind == GREETING else replies.away
    return fill(template, values(conversation.customer, agent_name, department), keep_missing=False)
