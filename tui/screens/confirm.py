"""A yes/no question that must be answered on purpose (y or n; escape is no)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from tui.plain import plain
from tui.screens.base import DeskModal


class ConfirmScreen(DeskModal[bool]):
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Static(plain(self.question))
            yield Static(Text("y: yes    n or escape: no", style="bold"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
