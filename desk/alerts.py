"""Alerts: the one home of when the agent is told of a conversation, pure.

A conversation crosses a line at an instant that its state fixes (`crossings`):
- due soon: an SLA clock's business time left reaches the warning threshold (desk.sla);
- breached: an SLA clock runs out;
- waiting: the customer has waited `[alerts] waiting_minutes` (wall-clock time) for an answer;
- window closing: the customer waits and their 24-hour window closes within `[alerts]
  window_minutes` (told only while it is still open).
Each crossing is told once, when the clock reaches it (`AlertWatch.due`). A crossing belongs to
what started it (a clock's start, the window's close), so it re-arms when the conversation is
handled: answered (the response clocks, the wait and the window), resolved (every clock). A
customer message after our reply starts a new next-response clock with crossings of its own.

What had been crossed before the watch first saw a conversation (the state at start) is taken as
known and not told: the inbox shows it, and a desk opened on a morning's backlog of breaches would
otherwise ring hundreds of times. A conversation seen first later (a new customer, a webhook that
arrives late) is told of what it has crossed since LATE_NEWS before the start: a webhook a few
hours late is news; history days old (the demo's, imported at first start; a long backlog) is
the state the desk found.

Cost: the crossings are computed when a conversation changes and kept in a heap by instant, so
the timer's check pops only what is due (~O(1) when nothing is), not every conversation.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from desk.config import AlertsConfig
from desk.durations import short_duration
from desk.models import Conversation, ConversationStatus
from desk.sla import NEVER, SlaPolicy, due_at, due_soon_at, running_clocks
from desk.window import WINDOW

LATE_NEWS = timedelta(hours=6)
"""How long before the start a crossing of a conversation first seen later is still told."""


class AlertKind(str, enum.Enum):
    """What crossed; the value is what the alert command reads in WADESK_ALERT_KIND."""

    DUE_SOON = "due_soon"
    BREACHED = "breached"
    WAITING = "waiting"
    WINDOW_CLOSING = "window_closing"


@dataclass(frozen=True, slots=True)
class AlertSettings:
    waiting: timedelta | None = timedelta(hours=4)
    """Tell once a customer has waited this long; None: never."""
    window: timedelta | None = timedelta(hours=2)
    """Tell once a waiting customer's window closes within this long; None: never."""

    @classmethod
    def from_config(cls, cfg: AlertsConfig) -> AlertSettings:
        return cls(
            waiting=timedelta(minutes=cfg.waiting_minutes) if cfg.waiting_minutes else None,
            window=timedelta(minutes=cfg.window_minutes) if cfg.window_minutes else None,
        )


@dataclass(frozen=True, slots=True)
class Crossing:
    kind: AlertKind
    clock: str
    """The SLA clock ("first response", "next response", "resolution"); "" for the wait and the window."""
    at: datetime
    """When the line is crossed."""
    due: datetime
    """What the alert is about: the clock's due time, when the window closes, or when the wait
    passed the threshold (WADESK_DUE)."""
    anchor: datetime
    """What started it: the clock's start, or the window's close (a new message moves it)."""


Key = tuple[AlertKind, str, datetime, datetime]
"""A crossing's identity: (kind, clock, anchor, at)."""


def _key(c: Crossing) -> Key:
    return (c.kind, c.clock, c.anchor, c.at)


def crossings(conv: Conversation, policy: SlaPolicy, settings: AlertSettings) -> list[Crossing]:
    """Every line `conv` crosses in its present state, past or future, under the number's `policy`
    (the conversation's priority picks its own)."""
    if conv.status is ConversationStatus.RESOLVED:
        return []
    policy = policy.for_priority(conv.priority)
    found = []
    for clock in running_clocks(conv, policy):
        due = due_at(clock, policy.hours)
        if due == NEVER:
            continue
        soon = due_soon_at(clock, policy)
        if soon is not None and soon < due:
            found.append(Crossing(AlertKind.DUE_SOON, clock.name, soon, due, clock.start))
        found.append(Crossing(AlertKind.BREACHED, clock.name, due, due, clock.start))
    waiting_since = conv.waiting_since
    if waiting_since is not None:
        if settings.waiting is not None:
            at = waiting_since + settings.waiting
            found.append(Crossing(AlertKind.WAITING, "", at, at, waiting_since))
        if settings.window is not None and conv.last_inbound_at is not None:
            closes = conv.last_inbound_at + WINDOW
            at = max(closes - settings.window, conv.last_inbound_at)
            found.append(Crossing(AlertKind.WINDOW_CLOSING, "", at, closes, closes))
    return found


@dataclass(frozen=True, slots=True)
class Alert:
    """A crossing to tell the agent of."""

    kind: AlertKind
    conversation_id: str
    customer: str
    """The customer's name as stored: hostile, neutralised by whoever shows or passes it on."""
    clock: str
    due: datetime
    threshold: timedelta | None = None
    """For the wait and the window: the configured threshold."""

    def words(self) -> str:
        """What happened, without the name or the time: "first response breached"."""
        if self.kind is AlertKind.BREACHED:
            return f"{self.clock} breached"
        if self.kind is AlertKind.DUE_SOON:
            return f"{self.clock} due soon"
        wait = short_duration(self.threshold) if self.threshold is not None else ""
        if self.kind is AlertKind.WAITING:
            return f"waiting {wait} without an answer"
        return f"window closes within {wait}"


class AlertWatch:
    """The crossings of every conversation on the clock, told once each.

    `load` takes the state at start as known; `update` follows each changed conversation; `due`
    returns what has been crossed since, once. Not thread-safe: one thread (the desk's loop)
    calls it, after `load` (which a worker may run) returns."""

    def __init__(self, policy_for: Callable[[str], SlaPolicy], settings: AlertSettings) -> None:
        self._policy_for = policy_for
        self.settings = settings
        self._conversations: dict[str, Conversation] = {}
        self._crossings: dict[str, list[Crossing]] = {}
        self._done: dict[str, set[Key]] = {}
        """Per conversation, the crossings told or known at start: never told (again)."""
        self._told: dict[str, set[Key]] = {}
        """Per conversation, the crossings told that are still current: its row stands out."""
        self._heap: list[tuple[datetime, str]] = []
        """(instant, conversation): when to look at a conversation's crossings again."""
        self._started: datetime | None = None
        """When the watch loaded (`load`)."""
        self._scheduled: dict[str, set[datetime]] = {}
        """The instants in the heap per conversation: an update that moves nothing pushes nothing
        (a busy conversation changes with every message)."""

    def load(self, conversations: Iterable[Conversation], now: datetime) -> None:
        """Watch these conversations; what they had crossed by `now` is known, not told."""
        self._started = now
        for conv in conversations:
            found = self._track(conv, now, past=False)
            if found:
                self._done[conv.id] = {_key(c) for c in found if c.at <= now}

    def update(self, conv: Conversation, now: datetime) -> None:
        """`conv` changed: its crossings are computed again; those of a clock that stopped (it was
        answered, resolved) are forgotten, so they can be crossed again."""
        found = self._track(conv, now, past=True)
        current = {_key(c) for c in found}
        for keys in (self._done, self._told):
            kept = keys.get(conv.id, set()) & current
            if kept:
                keys[conv.id] = kept
            else:
                keys.pop(conv.id, None)
        if self._started is not None:
            old = {_key(c) for c in found if c.at < self._started - LATE_NEWS}
            if old:
                self._done.setdefault(conv.id, set()).update(old)

    def _track(self, conv: Conversation, now: datetime, *, past: bool) -> list[Crossing]:
        """Keep `conv`'s crossings and schedule a look at each instant (those already crossed
        too when `past`: the next `due` tells them). An entry that a later update made stale
        only costs a look: `due` reads the conversation's current crossings."""
        found = crossings(conv, self._policy_for(conv.business_number_id), self.settings)
        if not found:
            self._conversations.pop(conv.id, None)
            self._crossings.pop(conv.id, None)
            return found
        self._conversations[conv.id] = conv
        self._crossings[conv.id] = found
        scheduled = self._scheduled.setdefault(conv.id, set())
        for c in found:
            if (past or c.at > now) and c.at not in scheduled:
                scheduled.add(c.at)
                heapq.heappush(self._heap, (c.at, conv.id))
        return found

    def due(self, now: datetime) -> list[Alert]:
        """What has been crossed by `now` and not told yet, oldest crossing first; told once."""
        ids: dict[str, None] = {}
        while self._heap and self._heap[0][0] <= now:
            at, cid = heapq.heappop(self._heap)
            ids[cid] = None
            scheduled = self._scheduled.get(cid)
            if scheduled is not None:
                scheduled.discard(at)
                if not scheduled:
                    del self._scheduled[cid]
        fired: list[tuple[datetime, Alert]] = []
        for cid in ids:
            conv = self._conversations.get(cid)
            if conv is None:
                continue
            done = self._done.setdefault(cid, set())
            for c in self._crossings[cid]:
                key = _key(c)
                if c.at > now or key in done:
                    continue
                done.add(key)
                if c.kind is AlertKind.WINDOW_CLOSING and now >= c.due:
                    continue  # closed before anyone looked: the window is no longer closing
                self._told.setdefault(cid, set()).add(key)
                threshold = self.settings.waiting if c.kind is AlertKind.WAITING else self.settings.window
                fired.append((c.at, Alert(c.kind, cid, conv.customer.name, c.clock, c.due, threshold)))
        fired.sort(key=lambda pair: pair[0])
        return [alert for _, alert in fired]

    def alerted(self, conversation_id: str) -> bool:
        """Whether the agent was told of this conversation and it has not been handled since."""
        return conversation_id in self._told

    def alerted_ids(self) -> frozenset[str]:
        return frozenset(self._told)
