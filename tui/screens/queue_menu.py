"""The queue menu: a conversation's status, snooze, priority and labels, one key each. Opened
from the conversation (ctrl+s) and from the inbox row (s); returns what the agent chose, which
tui.queue carries out. Labels are typed in a second small screen."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from desk.models import ConversationStatus, Priority
from tui.screens.base import DeskModal


@dataclass(frozen=True)
class QueueChoice:
    kind: str
    """"status", "snooze", "priority" or "labels"."""
    value: str = ""
    """The status or priority's value; for a snooze "write" (until the customer writes) or
    "1h", "4h", "tomorrow"; for labels, what the agent typed."""


MENU: tuple[tuple[str, str, QueueChoice], ...] = (
    ("o", "open", QueueChoice("status", ConversationStatus.OPEN.value)),
    ("p", "pending: waiting on the customer", QueueChoice("status", ConversationStatus.PENDING.value)),
    ("r", "resolve", QueueChoice("status", ConversationStatus.RESOLVED.value)),
    ("s", "snooze until the customer writes", QueueChoice("snooze", "write")),
    ("1", "snooze for 1 hour", QueueChoice("snooze", "1h")),
    ("4", "snooze for 4 hours", QueueChoice("snooze", "4h")),
    ("m", "snooze until tomorrow 09:00", QueueChoice("snooze", "tomorrow")),
    ("u", "priority urgent ‼", QueueChoice("priority", Priority.URGENT.value)),
    ("h", "priority high !", QueueChoice("priority", Priority.HIGH.value)),
    ("n", "priority normal", QueueChoice("priority", Priority.NORMAL.value)),
    ("l", "priority low ↓", QueueChoice("priority", Priority.LOW.value)),
    ("e", "edit the labels…", QueueChoice("labels")),
)


class QueueMenu(DeskModal[QueueChoice | None]):
    BINDINGS = [
        Binding("escape,q", "dismiss(None)", "Cancel", id="queue.cancel"),
        *(Binding(key, f"choose({i})", words, show=False) for i, (key, words, _) in enumerate(MENU)),
    ]

    def __init__(self, title: str, labels: tuple[str, ...]) -> None:
        super().__init__()
        self._title = title
        self._labels = labels

    def compose(self) -> ComposeResult:
        with Vertical(id="queue-menu"):
            for key, words, _ in MENU:
                yield Static(Text.assemble((f" {key} ", "bold"), words))
            yield Static(Text("escape cancels"), classes="muted")

    def on_mount(self) -> None:
        self.query_one("#queue-menu").border_title = Text(self._title)

    def action_choose(self, index: int) -> None:
        choice = MENU[index][2]
        if choice.kind == "labels":
            self.app.push_screen(LabelsScreen(self._labels), self.dismiss)
            return
        self.dismiss(choice)


class LabelsScreen(DeskModal[QueueChoice | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="labels.cancel")]

    def __init__(self, labels: tuple[str, ...]) -> None:
        super().__init__()
        self._labels = labels

    def compose(self) -> ComposeResult:
        with Vertical(id="labels-edit"):
            yield Input(", ".join(self._labels), placeholder="labels, separated by commas", id="labels-input")
            yield Static(Text("enter keeps these labels (empty: none) · escape cancels"), classes="muted")

    def on_mount(self) -> None:
        self.query_one("#labels-edit").border_title = "labels"
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(QueueChoice("labels", event.value))
