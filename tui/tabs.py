"""Tabs: the conversations the agent keeps open, so that a customer's quick answer finds the
same agent. The app holds them (keys f2/f3 switch, alt+1..9 go to one, alt+w closes the shown
one) and the store keeps them (Store.tabs), so they survive a restart. A tab has news while its
customer wrote something the agent has not seen, or our message to them failed unseen."""

from __future__ import annotations

from dataclasses import dataclass, field

from desk.models import Conversation

MAX_TABS = 9
"""alt+1..alt+9 reach every tab; opening a tenth closes the oldest."""


def has_news(conv: Conversation) -> bool:
    return conv.unread > 0 or conv.undelivered


@dataclass
class Tabs:
    ids: list[str] = field(default_factory=list)

    def open(self, conversation_id: str) -> bool:
        """Add a tab (at the end) unless there is one; returns whether the tabs changed."""
        if conversation_id in self.ids:
            return False
        self.ids.append(conversation_id)
        del self.ids[:-MAX_TABS]
        return True

    def close(self, conversation_id: str) -> str | None:
        """Close its tab; returns the tab to show instead (the one after it, else before), None
        when none is left or it had no tab."""
        if conversation_id not in self.ids:
            return None
        i = self.ids.index(conversation_id)
        self.ids.remove(conversation_id)
        if not self.ids:
            return None
        return self.ids[min(i, len(self.ids) - 1)]

    def step(self, current: str | None, by: int) -> str | None:
        """The tab `by` places from `current` (round the end); from no tab, the first or last."""
        if not self.ids:
            return None
        if current not in self.ids:
            return self.ids[0 if by > 0 else -1]
        return self.ids[(self.ids.index(current) + by) % len(self.ids)]
