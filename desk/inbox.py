"""The inbox's rows: every conversation, kept sorted by urgency as conversations change.

Sort keys are computed when a conversation changes, not on every tick: a conversation's deadline
(its SLA due time or its window's close) is a fixed instant, so the order only moves when a
conversation does, or when a window closes (`resort()`, called on a slow timer). Updating one
conversation is a bisect plus a list insert: ~O(log n) + a memmove, cheap at 100k rows.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from desk.contacts import handle
from desk.models import Conversation
from desk.sla import SlaPolicy, SlaState, sla_state
from desk.urgency import Filter, matches, search_matches, sort_key
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
        return InboxRow(conv, policy, self._department_for(conv.business_number_id), sort_key(conv, policy, now))

    def load(self, conversations: Iterable[Conversation], now: datetime) -> None:
        rows = [self._row(conv, now) for conv in conversations]
        rows.sort(key=lambda r: r.key)
        self._rows = rows
        self._keys = [r.key for r in rows]
        self._by_id = {r.conversation.id: r for r in rows}
        self._refilter(now)

    def resort(self, now: datetime) -> None:
        """Recompute every key: windows that closed since change the order."""
        self.load([r.conversation for r in self._rows], now)

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
