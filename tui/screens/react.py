"""The reaction picker: the six reactions WhatsApp offers first (keys 1-6) and "remove my
reaction" (0), for the customer's message under the transcript's cursor. Returns the emoji, ""
to remove ours, or None when the agent cancels."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from desk.quoting import REACTIONS
from desk.text import flatten
from tui.screens.base import DeskModal

NAMES = ("thumbs up", "heart", "laughing", "surprised", "sad", "thank you")
"""Each reaction in words beside it: a terminal without colour emoji still says which is which."""


class ReactionPicker(DeskModal[str | None]):
    BINDINGS = [
        Binding("escape,q", "dismiss(None)", "Cancel", id="react.cancel"),
        Binding("0,backspace", "choose('')", "Remove", tooltip="Remove my reaction.", id="react.remove"),
        *(Binding(str(n), f"choose({emoji!r})", name, show=False) for n, (emoji, name) in enumerate(zip(REACTIONS, NAMES), 1)),
    ]

    def __init__(self, quoted: str, mine: str) -> None:
        """`quoted`: the message on one line (customer text: flattened here); `mine`: our reaction
        on it now ("" for none)."""
        super().__init__()
        self._quoted = quoted
        self._mine = mine

    def compose(self) -> ComposeResult:
        with Vertical(id="react"):
            yield Static(Text(f"to: {flatten(self._quoted, 70)}"), id="react-quote")
            for n, (emoji, name) in enumerate(zip(REACTIONS, NAMES), 1):
                yours = "  (yours now)" if emoji == self._mine else ""
                yield Static(Text.assemble((f" {n} ", "bold"), f"{emoji}  {name}{yours}"))
            remove = "remove my reaction" + ("" if self._mine else " (there is none)")
            yield Static(Text.assemble((" 0 ", "bold"), remove))
            yield Static(Text("escape cancels"), classes="muted")

    def on_mount(self) -> None:
        self.query_one("#react").border_title = "react"

    def action_choose(self, emoji: str) -> None:
        self.dismiss(emoji)
