"""A conversation's status as the queue sees it now: the one home of the rule that a snooze ends.

The store keeps the status the agent set; a snooze until a time ends at that time without a write
(nothing happens at that instant but the clock moving), so every reader asks here. A customer's
question ends any status but open in the store itself (desk.summary.reopens).
"""

from __future__ import annotations

from datetime import datetime

from desk.models import Conversation, ConversationStatus


def current(conv: Conversation, now: datetime) -> ConversationStatus:
    """OPEN for a snooze whose time has come; the stored status otherwise."""
    if conv.status is ConversationStatus.SNOOZED and conv.snoozed_until is not None and now >= conv.snoozed_until:
        return ConversationStatus.OPEN
    return conv.status


def asleep(conv: Conversation, now: datetime) -> bool:
    """Snoozed and not yet woken: out of the queue ("next" skips it, the default views hide it)."""
    return current(conv, now) is ConversationStatus.SNOOZED


def in_queue(conv: Conversation, now: datetime) -> bool:
    """Open, or woken from a snooze: work that is ours to do."""
    return current(conv, now) is ConversationStatus.OPEN
