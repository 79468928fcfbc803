"""Narrow the inbox by status, priority, labels and language: a checklist (space ticks, enter
applies, escape cancels), built from what the conversations hold. Nothing ticked in a group:
any of it."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from desk.models import ConversationStatus, Priority
from desk.views import Facets
from tui.screens.base import DeskModal


class FacetsScreen(DeskModal[Facets | None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="facets.cancel"),
        # Before the list (where enter would tick too): space ticks, enter applies.
        Binding("enter", "apply", "Apply", id="facets.apply", priority=True),
    ]

    def __init__(self, current: Facets, labels: Iterable[str], languages: Iterable[str]) -> None:
        super().__init__()
        self._current = current
        self._labels = sorted(set(labels) | set(current.labels))
        self._languages = sorted(set(languages) | ({current.language} if current.language else set()))

    def compose(self) -> ComposeResult:
        c = self._current
        options: list[Selection[str]] = []
        options += [Selection(f"status: {s.value}", f"status:{s.value}", s in c.statuses) for s in ConversationStatus]
        options += [Selection(f"priority: {p.value}", f"priority:{p.value}", p in c.priorities) for p in Priority]
        # Labels are tidy already (rules.labels); Text keeps them from ever being read as markup.
        options += [Selection(Text(f"label: #{label}"), f"label:{label}", label in c.labels) for label in self._labels]
        options += [Selection(Text(f"language: {code}"), f"language:{code}", code == c.language) for code in self._languages]
        with Vertical(id="facets"):
            yield SelectionList[str](*options, id="facets-list")
            yield Static(Text("space ticks · enter shows what is ticked · escape cancels"), classes="muted")

    def on_mount(self) -> None:
        self.query_one("#facets").border_title = "narrow the inbox"
        self.query_one(SelectionList).focus()

    def action_apply(self) -> None:
        chosen = self.query_one(SelectionList).selected
        picked: dict[str, list[str]] = {}
        for value in chosen:
            group, _, item = value.partition(":")
            picked.setdefault(group, []).append(item)
        languages = picked.get("language", [])
        self.dismiss(
            Facets(
                statuses=frozenset(ConversationStatus(v) for v in picked.get("status", [])),
                priorities=frozenset(Priority(v) for v in picked.get("priority", [])),
                labels=frozenset(picked.get("label", [])),
                # One language at a time: the last ticked.
                language=languages[-1] if languages else None,
            )
        )
