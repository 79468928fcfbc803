"""Replying to one message (quoted, as WhatsApp shows it) and reacting to one: what each may point
at, and the sentence when it may not.

A reply carries `context.message_id` and a reaction `reaction.message_id`: WhatsApp's id of the
message, which is the customer's message id, or for ours the wamid WhatsApp gave when it accepted
it (a message of ours not yet accepted has none, so it cannot be quoted).

Reactions, as Meta states them (developers.facebook.com/documentation/business-messaging/whatsapp/
messages/reaction-messages): a business reacts to "a WhatsApp user message you received"; a
reaction to a message more than 30 days old, to a deleted one or to a reaction "will not be
delivered" (error 131009 by webhook); only a `sent` status follows, never delivered or read. A
reaction is a free-form (service) message, so the 24-hour window applies
(../shared/reference/whatsapp-cloud-api.md section 7): the caller checks the window (desk.window)
as for text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from desk.models import RETRYABLE, Direction, Message

REACTIONS = ("👍", "❤️", "😂", "😮", "😢", "🙏")
"""The six that WhatsApp offers first, in its order."""

REACTION_AGE = timedelta(days=30)
"""Meta does not deliver a reaction to a message older than this."""

NOT_QUOTABLE = frozenset({"note", "system"})
"""Notes never reached the customer; system messages (a number change) are WhatsApp's, not a chat line."""


def whatsapp_id(message: Message) -> str | None:
    """The id WhatsApp knows the message by: the customer's message id, our message's wamid (None
    until WhatsApp accepted it)."""
    if message.direction is Direction.INBOUND:
        return message.id
    return message.wamid


def reply_refusal(message: Message) -> str:
    """Why the agent cannot reply quoting `message`; "" when they can."""
    if message.type in NOT_QUOTABLE:
        return "A note or a system message cannot be quoted: the customer never saw it as a message."
    if message.type == "reaction":
        return "A reaction cannot be quoted; reply to the message it reacts to."
    if whatsapp_id(message) is None:
        return "This message has not reached WhatsApp, so it cannot be quoted."
    return ""


def reaction_refusal(message: Message, now: datetime) -> str:
    """Why the agent cannot react to `message` at `now`; "" when they can. (The window is the
    caller's to check, as for any free-form send.)"""
    if message.direction is not Direction.INBOUND:
        return "Only a customer's message can be reacted to (WhatsApp's rule)."
    if message.type in ("reaction", "system"):
        return f"A {message.type} message cannot be reacted to (WhatsApp's rule)."
    if now - message.timestamp > REACTION_AGE:
        return "This message is more than 30 days old: WhatsApp would not deliver a reaction to it."
    return ""


def my_reaction(messages: Sequence[Message], target: Message) -> str:
    """Our reaction now on `target` ("" for none): the latest of ours to it that did not fail."""
    key = whatsapp_id(target)
    emoji = ""
    for m in messages:
        if m.direction is Direction.OUTBOUND and m.type == "reaction" and m.reaction_to == key and m.status not in RETRYABLE:
            emoji = m.text
    return emoji
