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

from desk.contacts import handle
from desk.models import Conversation
from desk.sla import SlaPolicy, SlaState, sla_state
from desk.urgency import WAITING, Filter, matches, search_matches, sort_key
from desk.window import CLOSING_SOON, WindowState, window


@dataclass(eq=False, slots=True)
class InboxRow:
    conversation: Conversation
    policy: SlaPolicy
    department: str
    key: tuple
    _number: str | None = field(default=None, repr=False)

    @property
    def number(self) -> str:
        """The formatted number or username, computed when first drawn (parsing is not free)."""
        if self._number is None:
            self._number = handle(self.conversation.customer)
        return self._number

    def sla(self, now: datetime) -> SlaState:
        return sla_state(self.conversation, self.policy, now)

    def window(self, now: datetime, closing_soon: timedelta = CLOSING_SOON) -> WindowState:
        return window(self.conversation.last_inbound_at, now, closing_soon)


class InboxModel:
    """All rows sorted by urgency, and the filtered view the agent sees."""

    def __init__(
        self,
        policy_for: Callable[[str], SlaPolicy],
        department_for: Callable[[str], str],
        closing_soon: timedelta = CLOSING_SOON,
    ) -> None:
        self._policy_for = policy_for
        self._department_for = department_for
        self.closing_soon = closing_soon
        self._rows: list[InboxRow] = []
        self._keys: list[tuple] = []
        self._by_id: dict[str, InboxRow] = {}
        self._rekey: list[tuple[datetime, str]] = []
        """(when a waiting conversation's window closes, its id): a heap."""
        self.filter = Filter.ALL
        self.business_number_id: str | None = None
        self.query = ""
        self.text_hits: frozenset[str] = frozenset()
        """Conversations whose message text matched the query (found by a slower scan)."""
        self._view: list[InboxRow] | None = None
        self._view_index: dict[str, int] = {}

    # --- building ----------------------------------------------------------------------------------
    def _row(self, conv: Conversation, now: datetime) -> InboxRow:
        policy = self._policy_for(conv.business_number_id)
        key = sort_key(conv, policy, now)
        if key[0] == WAITING and conv.last_inbound_at is not None:
            closes_at = window(conv.last_inbound_at, now).closes_at
            if closes_at is not None and closes_at > now:
                heapq.heappush(self._rekey, (closes_at, conv.id))
        return InboxRow(conv, policy, self._department_for(conv.business_number_id), key)

    def load(self, conversations: Iterable[Conversation], now: datetime) -> None:
        self._rekey = []
        rows = [self._row(conv, now) for conv in conversations]
        rows.sort(key=lambda r: r.key)
        self._rows = rows
        self._keys = [r.key for r in rows]
        self._by_id = {r.conversation.id: r for r in rows}
        self._refilter(now)

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
        """How many conversations have a breached SLA: they sort first, their deadline being past."""
        return bisect.bisect_right(self._keys, (WAITING, False, now, "\U0010ffff"))

    def update(self, conversations: Iterable[Conversation], now: datetime) -> None:
        for conv in conversations:
            old = self._by_id.get(conv.id)
            if old is not None:
                i = bisect.bisect_left(self._keys, old.key)
                del self._rows[i], self._keys[i]
            row = self._row(conv, now)
            i = bisect.bisect_left(self._keys, row.key)
            self._rows.insert(i, row)
            self._keys.insert(i, row.key)
            self._by_id[conv.id] = row
        self._refilter(now)

    # --- the view ----------------------------------------------------------------------------------
    @property
    def filtered(self) -> bool:
        return self.filter is not Filter.ALL or self.business_number_id is not None or bool(self.query.strip())

    def set_view(
        self,
        now: datetime,
        *,
        filter: Filter | None = None,
        business_number_id: str | None | type[...] = ...,
        query: str | None = None,
        text_hits: frozenset[str] | None = None,
    ) -> None:
        if filter is not None:
            self.filter = filter
        if business_number_id is not ...:
            self.business_number_id = business_number_id
        if query is not None:
            self.query = query
        if text_hits is not None:
            self.text_hits = text_hits
        self._refilter(now)

    def _refilter(self, now: datetime) -> None:
        if not self.filtered:
            self._view = None
            return
        self._view = [r for r in self._rows if self._keep(r, now)]
        self._view_index = {r.conversation.id: i for i, r in enumerate(self._view)}

    def _keep(self, row: InboxRow, now: datetime) -> bool:
        conv = row.conversation
        if not matches(conv, self.filter, row.policy, now, self.business_number_id, self.closing_soon):
            return False
        return not self.query.strip() or conv.id in self.text_hits or search_matches(conv, self.query)

    @property
    def rows(self) -> list[InboxRow]:
        """What the agent sees, in order."""
        return self._rows if self._view is None else self._view

    def index_of(self, conversation_id: str) -> int | None:
        if self._view is not None:
            return self._view_index.get(conversation_id)
        row = self._by_id.get(conversation_id)
        return None if row is None else bisect.bisect_left(self._keys, row.key)

    def __len__(self) -> int:
        return len(self._rows)

    def conversations(self) -> list[Conversation]:
        return [r.conversation for r in self._rows]
