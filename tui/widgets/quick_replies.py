"""The quick replies' completion list: typing "/" at the start of a word in the composer opens
it with the shortcuts that begin with what follows (desk.quick_replies); up and down choose, tab
or enter puts the reply, filled in, where "/shortcut" was, escape closes. The text then waits in
the composer, to be edited and sent with enter like anything typed: a quick reply never sends by
itself. While the 24-hour window is closed the list never opens (desk.quick_replies.matches).

The composer keeps the focus (the agent goes on typing to narrow the list), so it hands this list
the keys above while the list is open (`key`): they are bindings here, with ids the config's
[keys] can move, which the composer resolves through the config as Textual would."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import OptionList, TextArea
from textual.widgets.option_list import Option

from desk.quick_replies import QuickReply, expand, library, matches, typing_shortcut
from desk.text import flatten
from desk.window import window
from tui.screens.base import OnTheDesk

PREVIEW = 70
"""How much of each reply the list shows, on one line."""


class QuickReplyMenu(OnTheDesk, OptionList, can_focus=False):
    BINDINGS = [
        Binding("down", "move(1)", "Next quick reply", tooltip="Next quick reply (while the list is open).", id="quickreply.down", show=False),
        Binding("up", "move(-1)", "Previous quick reply", tooltip="Previous quick reply (while the list is open).", id="quickreply.up", show=False),
        Binding("tab,enter", "insert", "Insert", tooltip="Put the chosen quick reply in the composer, to edit before sending.", id="quickreply.insert", show=False),
        Binding("escape", "close", "Close", tooltip="Close the quick replies' list; the text typed stays.", id="quickreply.close", show=False),
    ]
    DEFAULT_CSS = """
    QuickReplyMenu {
        display: none;
        height: auto;
        max-height: 8;
        border: round $primary;
        border-subtitle-color: $text-muted;
    }
    QuickReplyMenu.-open {
        display: block;
    }
    """

    def __init__(self, conversation_id: str) -> None:
        super().__init__(id="quick-replies")
        self.conversation_id = conversation_id
        self._shown: list[QuickReply] = []
        self._composer: TextArea | None = None
        self._span: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))
        """Where "/shortcut" is in the composer: what an insert replaces."""

    def on_mount(self) -> None:
        self.border_title = "quick replies"
        self.border_subtitle = "↑↓ choose · tab or enter inserts · esc closes"

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    @property
    def shown(self) -> list[QuickReply]:
        """The quick replies the list offers now (none while it is closed)."""
        return list(self._shown) if self.is_open else []

    def library(self) -> list[QuickReply]:
        return library(self.ctx.config.configured_quick_replies(), self.ctx.store.quick_replies())

    def follow(self, composer: TextArea) -> None:
        """Open, narrow or close the list for what the composer holds at its cursor."""
        self._composer = composer
        start, end = composer.selection
        row, column = end
        typed = typing_shortcut(composer.document.get_line(row), column) if start == end else None
        conversation = self.ctx.store.conversation(self.conversation_id)
        window_open = conversation is not None and window(conversation.last_inbound_at, self.ctx.clock.now()).open
        found = matches(self.library(), typed[1], window_open=window_open) if typed else []
        if not found or typed is None or conversation is None:
            self.action_close()
            return
        self._span = ((row, typed[0]), (row, column))
        if found != self._shown or not self.is_open:
            self._shown = found
            self.clear_options()
            self.add_options([Option(self._line(reply)) for reply in found])
            self.highlighted = 0
        self.add_class("-open")

    def _expanded(self, reply: QuickReply) -> str:
        conversation = self.ctx.store.conversation(self.conversation_id)
        assert conversation is not None  # follow() opens the list only for a conversation
        department = self.ctx.number(conversation.business_number_id).department
        return expand(reply, conversation.customer, self.ctx.config.agent_name, department)

    def _line(self, reply: QuickReply) -> Text:
        # Plain Text, never markup: the preview holds the customer's name.
        return Text.assemble((f"/{reply.shortcut}", "bold"), "  ", flatten(self._expanded(reply), PREVIEW))

    async def key(self, key: str) -> bool:
        """The composer's key while the list is open: True when it was the list's (see the
        module's docstring), under the keys the config moved it to."""
        moved = self.ctx.config.keys
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            keys = moved.get(binding.id or "", binding.key)
            if key in {k.strip() for k in keys.split(",")}:
                await self.run_action(binding.action)
                return True
        return False

    def action_move(self, by: int) -> None:
        if self._shown:
            self.highlighted = ((self.highlighted or 0) + by) % len(self._shown)

    def action_insert(self) -> None:
        """The chosen reply, filled in, in place of "/shortcut"; the cursor after it, the list
        closed. Nothing is sent."""
        composer = self._composer
        if composer is None or not self.is_open or self.highlighted is None:
            return
        reply = self._shown[self.highlighted]
        self.action_close()
        start, end = self._span
        composer.replace(self._expanded(reply), start, end, maintain_selection_offset=False)

    def action_close(self) -> None:
        self.remove_class("-open")
        self._shown = []
