"""Where the agent types: Enter sends, ctrl+j (or shift/alt+enter where the terminal tells them
apart) starts a new line. Both keys are in the footer while the composer has the focus."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

NEWLINE_KEYS = ("ctrl+j", "shift+enter", "alt+enter")


class Composer(TextArea):
    BINDINGS = [
        Binding("enter", "submit", "Send", tooltip="Send the message.", id="composer.send"),
        Binding("ctrl+j", "newline", "New line", tooltip="Start a new line (also shift+enter or alt+enter).", id="composer.newline"),
    ]

    class Submitted(Message):
        """The agent pressed Enter to send what is in the composer."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, tab_behavior="focus", show_line_numbers=False, compact=True)

    async def _on_key(self, event: events.Key) -> None:
        # TextArea inserts a newline on Enter before bindings are consulted: take these keys first.
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.action_submit()
            return
        if event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.action_newline()
            return
        await super()._on_key(event)

    def action_submit(self) -> None:
        self.post_message(self.Submitted())

    def action_newline(self) -> None:
        start, end = self.selection
        self._replace_via_keyboard("\n", start, end)
