"""Where the agent types: Enter sends, ctrl+j (or shift/alt+enter where the terminal tells them
apart) starts a new line. Send is in the footer while the composer has the focus; the new-line,
note and status keys are in the empty composer's placeholder (and help), as the footer has no room
for them at 80 columns.

A reply longer than WhatsApp takes (desk.limits.TEXT_MAX) is refused here, before anything is
sent, with the text kept; a counter in the composer's top border shows the length as the limit
nears. A paste is inserted as text: control characters it holds (ESC, BEL, ...) are shown as
visible marks (desk.text.safe), so a paste can neither send nor command the terminal.

Typing "/" at the start of a word opens the quick replies' list (tui/widgets/quick_replies.py,
when the screen has one), which the composer keeps up to date and hands its keys while open."""

from __future__ import annotations

from rich.text import Text
from textual import events, on
from textual.binding import Binding
from textual.message import Message
from textual.widgets import TextArea

from desk.limits import TEXT_MAX
from desk.text import safe
from tui.widgets.quick_replies import QuickReplyMenu

NEWLINE_KEYS = ("ctrl+j", "shift+enter", "alt+enter")
PLACEHOLDER = "Type a reply: enter sends · ctrl+j new line · ctrl+b a note · ctrl+s status"
NOTE_PLACEHOLDER = "Type an internal note for colleagues: enter keeps it, ctrl+b goes back to replying"
NOTE_WORDS = "✎ internal note: never sent"
COUNT_FROM = 3500
"""The counter shows from this many characters on: far enough ahead to shorten a reply in time."""


def counter(length: int) -> str:
    """"3,812/4,096" near the limit, "4,120/4,096: 24 too many" past it, "" well below it."""
    if length < COUNT_FROM:
        return ""
    count = f"{length:,}/{TEXT_MAX:,}"
    return f"{count}: {length - TEXT_MAX:,} too many" if length > TEXT_MAX else count


def too_long(length: int) -> str:
    """The sentence that refuses a reply of `length` characters; "" when it is short enough."""
    if length <= TEXT_MAX:
        return ""
    return (
        f"Not sent: this reply has {length:,} characters and WhatsApp takes at most {TEXT_MAX:,}. "
        f"Shorten it by {length - TEXT_MAX:,}; the text is kept."
    )


class Composer(TextArea):
    BINDINGS = [
        Binding("enter", "submit", "Send", tooltip="Send the message.", id="composer.send"),
        Binding("ctrl+j", "newline", "New line", tooltip="Start a new line (also shift+enter or alt+enter).", id="composer.newline", show=False),
    ]

    class Submitted(Message):
        """The agent pressed Enter to send what is in the composer, and it is not too long."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            id=id, soft_wrap=True, tab_behavior="focus", show_line_numbers=False, compact=True, placeholder=PLACEHOLDER
        )
        self.note = False

    @property
    def counter(self) -> str:
        """What the length counter shows now ("" while the reply is well below the limit)."""
        return counter(len(self.text))

    @property
    def quick_replies(self) -> QuickReplyMenu | None:
        """The screen's quick replies' list, if it has one."""
        found = self.screen.query(QuickReplyMenu)
        return found.first() if found else None

    async def _on_key(self, event: events.Key) -> None:
        menu = self.quick_replies
        if menu is not None and menu.is_open and await menu.key(event.key):
            event.stop()
            event.prevent_default()
            return
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

    async def _on_paste(self, event: events.Paste) -> None:
        # Terminals send a pasted line break as CR (or CRLF): keep those as new lines, and show any
        # other control character as its visible mark instead of inserting it raw.
        # (prevent_default: Textual would otherwise also run TextArea's handler, inserting it raw.)
        event.prevent_default()
        text = event.text.replace("\r\n", "\n").replace("\r", "\n")
        await super()._on_paste(events.Paste(safe(text)))

    def action_submit(self) -> None:
        refusal = too_long(len(self.text))
        if refusal:
            self.notify(refusal, title="Reply too long", severity="warning", markup=False)
            return
        self.post_message(self.Submitted())

    def action_newline(self) -> None:
        start, end = self.selection
        self._replace_via_keyboard("\n", start, end)

    def write_note(self, note: bool) -> None:
        """Switch between a reply and an internal note: its placeholder, the top border's words
        (never colour alone) and its style say which."""
        self.note = note
        self.placeholder = NOTE_PLACEHOLDER if note else PLACEHOLDER
        self.set_class(note, "-note")
        self._show_count()

    @on(TextArea.Changed)
    @on(TextArea.SelectionChanged)
    def _follow_cursor(self) -> None:
        if (menu := self.quick_replies) is not None:
            menu.follow(self)

    def on_blur(self) -> None:
        if (menu := self.quick_replies) is not None:
            menu.action_close()

    @on(TextArea.Changed)
    def _show_count(self) -> None:
        count = self.counter
        words = " · ".join(w for w in (NOTE_WORDS if self.note else "", count) if w)
        self.border_title = Text(words, style="bold" if len(self.text) > TEXT_MAX else "") if words else None
        self.set_class(len(self.text) > TEXT_MAX, "-too-long")
