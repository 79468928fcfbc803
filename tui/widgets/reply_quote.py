"""The line above the composer while the next reply quotes a message, as WhatsApp shows a quoted
reply: "↪ replying to: <the message on one line>". Hidden when nothing is quoted."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from desk.models import Message
from desk.summary import one_line
from desk.text import flatten

PREFIX = "↪ replying to: "
HINT = "  (escape: no quote)"


class ReplyQuote(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="hidden")
        self.message: Message | None = None
        """The message the next reply quotes; None: it quotes nothing."""

    def quote(self, message: Message | None) -> None:
        """Quote `message` in the next reply (None: quote nothing), and say so above the composer."""
        self.message = message
        self.set_class(message is None, "hidden")
        if message is not None:
            self._show(message)

    def on_resize(self) -> None:
        if self.message is not None:
            self._show(self.message)

    def _show(self, message: Message) -> None:
        # Cut to the line (customer text flattened: one line, nothing a terminal obeys), so the
        # hint always shows; before the first layout, the screen's width less the padding.
        width = self.content_region.width or self.screen.size.width - 2
        room = max(width - len(PREFIX) - len(HINT), 10)
        self.update(Text.assemble((PREFIX, "bold"), flatten(one_line(message), room), (HINT, "italic")))
