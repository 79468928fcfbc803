"""The inbox's rows: every conversation, kept sorted by urgency as conversations change.

Sort keys are computed when a conversation changes, not on every tick: a conversation's deadline
(its SLA due time or its window's close) is a fixed instant, so the order only moves when a
conversation does, or when the window of a conversation waiting on us closes (then its deadline
becomes the SLA's alone). Those instants are kept in a heap and `rekey_due()` re-keys just those
rows: a full re-sort costs ~0.7 s at 100k rows, and must not run on a timer. Updating one
conversation is a bisect plus a list insert: ~O(log n) + a memmove, cheap at 100k rows.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import EllipsisType

from desk.contacts import handle
from desk.models import Conversation, Priority
from desk.sla import SlaPolicy, SlaState, sla_state
from desk.status import in_queue
from desk.urgency import WAITING, Filter, SortKey, matches, search_text, sort_key, text_matches
from desk.views import ACTIVE, Facets, Owner, owner
from desk.window import CLOSING_SOON, WindowState, window


@dataclass(eq=False, slots=True)
class InboxRow:
    conversation: Conversation
    policy: SlaPolicy
    department: str
    key: SortKey
    rekey_at: datetime | None = None
    """When the key changes without the conversation changing: its window closes while it waits."""
    closing_soon: timedelta = CLOSING_SOON
    """The configured "window closing soon" (inbox.closing_soon_minutes): the row's label and the
    model's filter read the same one."""
    _number: str | None = field(default=None, repr=False)
    _search: str | None = field(default=None, repr=False)

    @property
    def number(self) -> str:
        """The formatted number or username, computed when first drawn (parsing is not free)."""
        if self._number is None:
            self._number = handle(self.conversation.customer)
        return self._number

    @property
    def search_text(self) -> str:
        """What search matches against, folded on first use (~8 us a row, too dear per keystroke)."""
        if self._search is None:
            self._search = search_text(self.conversation)
        return self._search

    def sla(self, now: datetime) -> SlaState:
        return sla_state(self.conversation, self.policy, now)

    def window(self, now: datetime) -> WindowState:
        return window(self.conversation.last_inbound_at, now, self.closing_soon)


class _Sorted:
    """Rows in key order, with the keys beside them for bisecting."""

    __slots__ = ("rows", "keys")

    def __init__(self, rows: list[InboxRow]) -> None:
        self.rows = rows
        self.keys = [r.key for r in rows]

    def remove(self, row: InboxRow) -> None:
        i = bisect.bisect_left(self.keys, row.key)
        if i < len(self.rows) and self.rows[i] is row:
            del self.rows[i], self.keys[i]

    def insert(self, row: InboxRow) -> None:
        i = bisect.bisect_left(self.keys, row.key)
        self.rows.insert(i, row)
        self.keys.insert(i, row.key)

    def index(self, row: InboxRow) -> int | None:
        i = bisect.bisect_left(self.keys, row.key)
        return i if i < len(self.rows) and self.rows[i] is row else None


class InboxModel:
    """All rows sorted by urgency, and the filtered view the agent sees.

    The view is kept up to date row by row as conversations change (re-filtering 100k rows per
    message cost ~110 ms). Filters that depend on the time (breached, closing, closed) are
    re-evaluated for every row only when the view is set again, or by `refilter()`.
    """

    def __init__(
        self,
        policy_for: Callable[[str], SlaPolicy],
        department_for: Callable[[str], str],
        closing_soon: timedelta = CLOSING_SOON,
        me: str = "",
    ) -> None:
        self._policy_for = policy_for
        self.me = me
        """The agent's id (desk.config.agent_key): what "mine" means."""
        self._department_for = department_for
        self.closing_soon = closing_soon
        self._all = _Sorted([])
        self._by_id: dict[str, InboxRow] = {}
        self._rekey: list[tuple[datetime, str]] = []
        """(when a waiting conversation's window closes, its id): a heap."""
        self.filter = Filter.ALL
        self.owner = Owner.ALL
        self._owned: dict[Owner, int] = dict.fromkeys(Owner, 0)
        """How many conversations each owner view holds, kept as rows come and go."""
        self._holding = 0
        """How many open conversations are mine."""
        self.business_number_id: str | None = None
        self.facets = Facets()
        """Status, priority, labels, language (desk.views)."""
        self.query = ""
        self.hits: frozenset[str] | None = None
        """With a query: the conversations found so far (by `search()` and the message scan)."""
        self._view: _Sorted | None = None

    # --- building ----------------------------------------------------------------------------------
    def make_rows(self, conversations: Iterable[Conversation], now: datetime) -> list[InboxRow]:
        """Rows for these conversations, sorted; touches nothing of the model (a worker may call it)."""
        rows = []
        for conv in conversations:
            policy = self._policy_for(conv.business_number_id)
            key = sort_key(conv, policy, now)
            rekey_at = None
            if key[0] == WAITING and conv.last_inbound_at is not None:
                closes_at = window(conv.last_inbound_at, now).closes_at
                rekey_at = closes_at if closes_at is not None and closes_at > now else None
            rows.append(InboxRow(conv, policy, self._department_for(conv.business_number_id), key, rekey_at,
                                 closing_soon=self.closing_soon))
        rows.sort(key=lambda r: r.key)
        return rows

    def _row(self, conv: Conversation, now: datetime) -> InboxRow:
        row = self.make_rows([conv], now)[0]
        self._watch(row)
        return row

    def _watch(self, row: InboxRow) -> None:
        if row.rekey_at is not None:
            heapq.heappush(self._rekey, (row.rekey_at, row.conversation.id))

    def load(self, conversations: Iterable[Conversation], now: datetime) -> None:
        """Show these conversations, and only these."""
        self._rekey = []
        self._all = _Sorted([])
        self._by_id = {}
        self._owned = dict.fromkeys(Owner, 0)
        self._holding = 0
        self.extend(self.make_rows(conversations, now), now)

    def extend(self, rows: list[InboxRow], now: datetime) -> None:
        """Add rows made while the model was in use; conversations it already has keep theirs
        (they changed since, and the model's row is the newer)."""
        new = [r for r in rows if r.conversation.id not in self._by_id]
        for row in new:
            self._watch(row)
            self._by_id[row.conversation.id] = row
            self._count(row, 1)
        merged = self._all.rows + new
        merged.sort(key=lambda r: r.key)  # two sorted runs: Timsort merges them in linear time
        self._all = _Sorted(merged)
        self.refilter(now)

    def update(self, conversations: Iterable[Conversation], now: datetime) -> None:
        for conv in conversations:
            old = self._by_id.get(conv.id)
            if old is not None:
                self._all.remove(old)
                self._count(old, -1)
                if self._view is not None:
                    self._view.remove(old)
            row = self._by_id[conv.id] = self._row(conv, now)
            self._all.insert(row)
            self._count(row, 1)
            if self._view is not None and self._keep(row, now):
                self._view.insert(row)

    def owner_of(self, conversation: Conversation) -> Owner:
        """Which view besides ALL holds the conversation (ALL: someone else's)."""
        return owner(conversation.assignee, self.me)

    def _count(self, row: InboxRow, step: int) -> None:
        self._owned[Owner.ALL] += step
        owner = self.owner_of(row.conversation)
        if owner is not Owner.ALL:
            self._owned[owner] += step
        if owner is Owner.MINE and row.conversation.status in ACTIVE:
            self._holding += step

    def owned(self, owner: Owner) -> int:
        """How many conversations the owner view holds (whatever the other filters)."""
        return self._owned[owner]

    def holding(self) -> int:
        """How many open or pending conversations are mine (what capacity counts: a snoozed or
        resolved one waits on nobody)."""
        return self._holding

    def next_for_me(self, capacity: int, now: datetime) -> InboxRow | None:
        """The most urgent conversation waiting on us that I may take: mine, or nobody's while I
        hold fewer than `capacity` (0: no limit); never one asleep. Whatever the view shows."""
        room = capacity == 0 or self._holding < capacity
        for row in self._all.rows:  # most urgent first
            conv = row.conversation
            if conv.waiting_since is None or not in_queue(conv, now):
                continue
            owner = self.owner_of(conv)
            if owner is Owner.MINE or (owner is Owner.UNASSIGNED and room):
                return row
        return None

    def rekey_due(self, now: datetime) -> bool:
        """Re-key the waiting conversations whose window has closed since; True if any moved."""
        due = []
        while self._rekey and self._rekey[0][0] <= now:
            due.append(heapq.heappop(self._rekey)[1])
        rows = [self._by_id[cid].conversation for cid in dict.fromkeys(due) if cid in self._by_id]
        if rows:
            self.update(rows, now)
        return bool(rows)

    def breached(self, now: datetime) -> int:
        """How many of the rows shown have a breached SLA: within each priority they sort first,
        their deadline being past."""
        keys = (self._view or self._all).keys
        return sum(
            bisect.bisect_right(keys, (WAITING, p.rank, False, now, "\U0010ffff")) - bisect.bisect_left(keys, (WAITING, p.rank))
            for p in Priority
        )

    # --- the view ----------------------------------------------------------------------------------
    @property
    def filtered(self) -> bool:
        return (
            self.filter is not Filter.ALL or self.owner is not Owner.ALL or self.business_number_id is not None
            or self.hits is not None or not self.facets.any
        )

    def set_view(
        self,
        now: datetime,
        *,
        filter: Filter | None = None,
        owner: Owner | None = None,
        business_number_id: str | None | EllipsisType = ...,
        facets: Facets | None = None,
    ) -> None:
        if filter is not None:
            self.filter = filter
        if facets is not None:
            self.facets = facets
        if owner is not None:
            self.owner = owner
        if business_number_id is not ...:
            self.business_number_id = business_number_id
        self.refilter(now)

    def search(self, query: str, hits: frozenset[str] | None, now: datetime) -> None:
        """Show the conversations in `hits` (None: no search)."""
        self.query = query if hits is not None else ""
        self.hits = hits
        self.refilter(now)

    def matching(self, query: str) -> frozenset[str]:
        """The conversations whose name, number, username or preview match (thread-safe: reads only)."""
        return frozenset(r.conversation.id for r in list(self._all.rows) if text_matches(r.search_text, query))

    def refilter(self, now: datetime) -> None:
        self._view = _Sorted([r for r in self._all.rows if self._keep(r, now)]) if self.filtered else None

    def _keep(self, row: InboxRow, now: datetime) -> bool:
        conv = row.conversation
        if not matches(conv, self.filter, row.policy, now, self.business_number_id, self.closing_soon):
            return False
        if self.owner is not Owner.ALL and self.owner_of(conv) is not self.owner:
            return False
        if not self.facets.admits(conv, now):
            return False
        if self.hits is None:
            return True
        # A conversation that changed during a search is checked again on its own.
        return conv.id in self.hits or text_matches(row.search_text, self.query)

    @property
    def rows(self) -> list[InboxRow]:
        """What the agent sees, in order."""
        return (self._view or self._all).rows

    def index_of(self, conversation_id: str) -> int | None:
        row = self._by_id.get(conversation_id)
        return None if row is None else (self._view or self._all).index(row)

    def __len__(self) -> int:
        return len(self._all.rows)

    def conversations(self) -> list[Conversation]:
        return [r.conversation for r in self._all.rows]
