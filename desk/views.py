"""Facets and saved views: what the inbox shows beside its filter, owner and business number.

Facets narrow the inbox by status, priority, labels and language, each empty for "any". A saved
view is a name for a whole inbox view (config `[[views]]`), reached by key and palette. The one
home of what each facet admits; the inbox model applies it row by row.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from desk.config import ViewConfig
from desk.models import BusinessNumber, Conversation, ConversationStatus, Priority
from desk.status import current
from desk.store import rules
from desk.urgency import Filter


class Owner(str, enum.Enum):
    """Whose conversations the inbox shows: the agent's own, nobody's, or everyone's."""

    ALL = "all"
    MINE = "mine"
    UNASSIGNED = "unassigned"


def owner(assignee: str | None, me: str) -> Owner:
    """Whose a conversation is to the agent `me`: MINE, UNASSIGNED, or ALL (someone else's)."""
    if assignee is None:
        return Owner.UNASSIGNED
    return Owner.MINE if assignee == me else Owner.ALL


ACTIVE = frozenset({ConversationStatus.OPEN, ConversationStatus.PENDING})
"""What the queue works on: the status facet's usual choice."""


@dataclass(frozen=True, slots=True)
class Facets:
    statuses: frozenset[ConversationStatus] = frozenset()
    """As the queue sees them now (a snooze whose time has come is open); empty: any."""
    priorities: frozenset[Priority] = frozenset()
    labels: frozenset[str] = frozenset()
    """Any of these; empty: any conversation."""
    language: str | None = None

    @property
    def any(self) -> bool:
        return not (self.statuses or self.priorities or self.labels or self.language)

    def admits(self, conv: Conversation, now: datetime) -> bool:
        if self.statuses and current(conv, now) not in self.statuses:
            return False
        if self.priorities and conv.priority not in self.priorities:
            return False
        if self.labels and self.labels.isdisjoint(conv.labels):
            return False
        return self.language is None or conv.language == self.language

    def words(self) -> str:
        """The facets in words for the inbox bar: "open, pending · urgent · #vip · es"; "" for any."""
        parts = []
        if self.statuses:
            parts.append(", ".join(s.value for s in ConversationStatus if s in self.statuses))
        if self.priorities:
            parts.append(", ".join(p.value for p in Priority if p in self.priorities))
        if self.labels:
            parts.append(" ".join(f"#{label}" for label in sorted(self.labels)))
        if self.language:
            parts.append(self.language)
        return " · ".join(parts)


@dataclass(frozen=True, slots=True)
class SavedView:
    """A whole inbox view by name (config `[[views]]`): the model's filter, owner, business number
    and facets at once."""

    name: str
    key: str
    filter: Filter
    owner: Owner
    business_number_id: str | None
    facets: Facets

    @classmethod
    def from_config(cls, cfg: ViewConfig, numbers: Sequence[BusinessNumber]) -> SavedView:
        """From a config entry that `desk.config.load` has checked."""
        number = next((n.id for n in numbers if n.department == cfg.department), None) if cfg.department else None
        return cls(
            name=cfg.name,
            key=cfg.key,
            filter=Filter(cfg.state),
            owner=Owner(cfg.assignee),
            business_number_id=number,
            facets=Facets(
                statuses=frozenset(ConversationStatus(s) for s in cfg.status),
                priorities=frozenset(Priority(p) for p in cfg.priority),
                labels=frozenset(rules.labels(cfg.labels)),
                language=cfg.language or None,
            ),
        )
