"""The inbox's order and filters, as pure functions of a conversation, its SLA policy and now.

Conversations on the clock come first, the most urgent priority first (the agent's own call
outranks the clock), then soonest deadline first: on the clock is a customer waiting on us, or any
SLA clock running (a resolution clock runs after we answered); a deadline is the SLA due time or,
while the customer waits, the moment the 24-hour window closes, whichever is earlier (after the
window closes only a template can reach the customer, so that moment matters as much as the SLA).
Within a priority, breached conversations sort first because their due time is past. The rest
follow by latest activity. The caller picks the policy for each conversation's business number.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta, timezone

from desk.models import Conversation, ConversationStatus
from desk.search import fold  # the one home of folding text for comparison (search's too)
from desk.sla import SlaKind, SlaPolicy, SlaState, sla_state
from desk.window import CLOSING_SOON, window

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def deadline(
    conv: Conversation, policy: SlaPolicy, now: datetime, closing_soon: timedelta = CLOSING_SOON
) -> datetime | None:
    """The earlier of the SLA due time and the window's close, for a conversation waiting on us.

    A window that has already closed is no longer a deadline, so the SLA due time stands alone.
    None when nothing waits on us (or nothing is ever due). `closing_soon` does not move a deadline;
    it is accepted so callers can pass the same settings here as to `matches`.
    """
    sla = sla_state(conv, policy, now)
    if not _on_the_clock(conv, sla):
        return None
    return _deadline(conv, sla.due_at, now)


def _on_the_clock(conv: Conversation, sla: SlaState) -> bool:
    """Waiting on us, or an SLA clock runs (a number may have no response budgets)."""
    return sla.kind is not SlaKind.NONE or (conv.waiting_since is not None and conv.status is not ConversationStatus.RESOLVED)


def _deadline(conv: Conversation, due_at: datetime | None, now: datetime) -> datetime | None:
    closes_at = None
    if conv.waiting_since is not None:
        win = window(conv.last_inbound_at, now)
        closes_at = win.closes_at if win.open else None
    return min((t for t in (due_at, closes_at) if t is not None), default=None)


WAITING, REST = 0, 1
"""The first element of a sort key: conversations waiting on us, then the rest."""

SortKey = tuple[int, int, bool, datetime | int, str]
"""(WAITING, priority rank, no deadline, deadline, id) or (REST, 0, no message, -microseconds since
the epoch, id): the first element keeps the datetimes and the integers from ever being compared."""


def sort_key(conv: Conversation, policy: SlaPolicy, now: datetime) -> SortKey:
    """Sort by this for the inbox order (ascending); ties fall to the conversation id.

    The key depends on `now` only when a window closes (the deadline becomes the SLA due time) or
    a skewed future timestamp is reached, so callers may cache it between those moments.
    """
    sla = sla_state(conv, policy, now)
    if _on_the_clock(conv, sla):
        due = _deadline(conv, sla.due_at, now)
        # A waiting conversation with no deadline (never due, window closed) ends its group.
        return (WAITING, conv.priority.rank, due is None, due or _EPOCH, conv.id)
    last = conv.last_message_at
    # Integer microseconds negate exactly (a float timestamp loses the last digit).
    newest_first = -((last - _EPOCH) // _MICROSECOND) if last is not None else 0
    return (REST, 0, last is None, newest_first, conv.id)


class Filter(str, enum.Enum):
    ALL = "all"
    WAITING = "waiting"
    """On the clock: waiting on us, or an SLA clock runs."""
    BREACHED = "breached"
    CLOSING = "closing"
    """Window open and closing soon."""
    CLOSED = "closed"
    """Window closed, including never opened: only a template can be sent."""


def matches(
    conv: Conversation,
    filter: Filter,
    policy: SlaPolicy,
    now: datetime,
    business_number_id: str | None = None,
    closing_soon: timedelta = CLOSING_SOON,
) -> bool:
    """Whether `conv` passes `filter` and, when given, belongs to `business_number_id`."""
    if business_number_id is not None and conv.business_number_id != business_number_id:
        return False
    if filter is Filter.ALL:
        return True
    if filter is Filter.WAITING:
        return _on_the_clock(conv, sla_state(conv, policy, now))
    if filter is Filter.BREACHED:
        return sla_state(conv, policy, now).kind is SlaKind.BREACHED
    win = window(conv.last_inbound_at, now, closing_soon)
    if filter is Filter.CLOSING:
        return win.open and win.closing_soon
    return not win.open


_PHONE_CHARS = frozenset("0123456789 +-().")


def search_text(conv: Conversation) -> str:
    """What search looks at, folded once (the inbox caches it per row): the customer's name, phone
    and username, the preview, and the phone's digits alone after a final tab."""
    customer = conv.customer
    fields = (customer.name, customer.phone or "", customer.username or "", conv.preview)
    digits = "".join(c for c in customer.phone or "" if c.isdigit())
    return "\n".join(fold(f) for f in fields) + "\t" + digits


def text_matches(text: str, query: str) -> bool:
    """Whether `query` occurs in a `search_text()` (or any folded text).

    Case- and accent-insensitive. A query that looks like a phone number ("30 69", "+30-69") also
    matches on digits alone, so spacing never hides a number. An empty query matches everything.
    """
    needle = fold(query.strip())
    if not needle or needle in text:
        return True
    digits = "".join(c for c in query if c.isdigit())
    if digits and set(query) <= _PHONE_CHARS:
        return digits in text.rpartition("\t")[2]
    return False


def search_matches(conv: Conversation, query: str, extra_text: str = "") -> bool:
    """Whether `query` occurs in the customer's name, phone or username, the preview, or `extra_text`."""
    return text_matches(search_text(conv), query) or (bool(extra_text) and text_matches(fold(extra_text), query))
