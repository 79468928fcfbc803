"""The inbox: a Line-API list that draws only the visible rows.

Built like toolong's LogLines (ScrollView + render_line): DataTable and OptionList do work for
every row when rows are added (11.8 s and 6.7 s to first paint at 100k rows on this machine),
while a line-API list paints 100k rows in ~43 ms (../shared/reference/perf-baseline.md).
Rows are one line when the terminal is wide enough, two lines otherwise (80 columns).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from desk.inbox import InboxRow
from desk.models import Direction
from desk.sla import SlaKind
from desk.text import display_name, flatten
from tui.labels import PRIORITY_MARKS, labels_text, queue_status, sla_label, waited_label, window_label
from tui.screens.base import OnTheDesk

PLAIN = Style()
"""For cells without a style of their own: Textual's NO_COLOR filter needs a Style on every segment."""

WIDE = 150
"""From this many columns on, a conversation takes one line instead of two."""

ALERTED = "!"
"""Beside the cursor's place on the row of a conversation the agent was alerted of, until handled."""

UNDELIVERED = "✖ not delivered"
"""On the row of a conversation whose latest message of ours failed, until the agent opens it."""


class InboxList(OnTheDesk, ScrollView, can_focus=True):
    COMPONENT_CLASSES = {
        "inbox-list--cursor",
        "inbox-list--name",
        "inbox-list--muted",
        "inbox-list--breached",
        "inbox-list--due",
        "inbox-list--closing",
        "inbox-list--closed",
        "inbox-list--unread",
        "inbox-list--alerted",
    }
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", id="inbox.up", show=False),
        Binding("down,j", "cursor(1)", "Down", id="inbox.down", show=False),
        Binding("pageup", "page(-1)", "Page up", id="inbox.page-up", show=False),
        Binding("pagedown", "page(1)", "Page down", id="inbox.page-down", show=False),
        Binding("home", "jump(0)", "First", id="inbox.first", show=False),
        Binding("end", "jump(-1)", "Last", id="inbox.last", show=False),
        Binding("enter", "open", "Open", tooltip="Open the conversation under the cursor.", id="inbox.open"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class Opened(Message):
        """The agent asked to open a conversation."""

        def __init__(self, conversation_id: str) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    def __init__(self, now: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._now = now
        self.rows: Sequence[InboxRow] = ()
        self._cursor_id: str | None = None
        """The conversation under the cursor, by id: the model changes its row lists in place
        before `set_rows` is told, so the row at the cursor's old position may be another one."""
        self.chosen = False
        """Whether the agent has done anything in the inbox yet. Until then the cursor stays on
        the first (most urgent) row as conversations load above it; from then on it stays with
        its conversation."""
        self._style_memo: dict[str, Style] = {}
        """Component styles, looked up once per theme: resolving one costs ~60 µs, per line."""

    # --- data ------------------------------------------------------------------------------------
    @property
    def row_height(self) -> int:
        return 1 if self.size.width >= WIDE else 2

    @property
    def current(self) -> InboxRow | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    @property
    def current_id(self) -> str | None:
        """The id of the conversation under the cursor (what enter opens)."""
        return self._cursor_id

    def set_rows(self, rows: Sequence[InboxRow], index_of: Callable[[str], int | None]) -> None:
        """Show `rows`, keeping the cursor on the same conversation when it is still there, and
        otherwise putting it on the first row: never on whatever now sits at the old position
        (enter there would open another customer than the one the agent had chosen).

        `index_of(conversation_id)` finds a row in `rows` fast (the model keeps an index).
        """
        self.rows = rows
        position = index_of(self._cursor_id) if self._cursor_id is not None and self.chosen else None
        self._update_size()
        self.cursor = position if position is not None else 0
        self._cursor_id = rows[self.cursor].conversation.id if rows else None
        self._scroll_to_cursor()
        self.refresh()

    def _update_size(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows) * self.row_height)

    def on_resize(self) -> None:
        self._update_size()
        self._scroll_to_cursor()

    # --- keys ------------------------------------------------------------------------------------
    def action_cursor(self, delta: int) -> None:
        self._move(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move(self.cursor + direction * max(self.scrollable_content_region.height // self.row_height - 1, 1))

    def action_jump(self, index: int) -> None:
        self._move(index if index >= 0 else len(self.rows) - 1)

    def action_open(self) -> None:
        if self._cursor_id is not None:
            self.post_message(self.Opened(self._cursor_id))

    def _move(self, index: int) -> None:
        if not self.rows:
            return
        index = max(0, min(index, len(self.rows) - 1))
        old, self.cursor = self.cursor, index
        self._cursor_id = self.rows[index].conversation.id
        self._refresh_row(old)
        self._refresh_row(index)
        self._scroll_to_cursor()

    def _refresh_row(self, index: int) -> None:
        # Repaint two rows, not the whole list: this keeps a key press within one frame.
        h = self.row_height
        self.refresh(Region(0, index * h - round(self.scroll_y), self.size.width, h))

    def _scroll_to_cursor(self) -> None:
        h = self.row_height
        self.scroll_to_region(Region(0, self.cursor * h, 1, h), animate=False, force=True, immediate=True)

    # --- drawing ---------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        h = self.row_height
        line = y + round(self.scroll_y)
        index, part = divmod(line, h)
        width = self.scrollable_content_region.width
        # No background of our own: Textual paints the widget's under unstyled cells.
        if index >= len(self.rows):
            return Strip.blank(width, PLAIN)
        row = self.rows[index]
        segments = self._segments(row, part, width, h)
        strip = Strip(segments).adjust_cell_length(width, PLAIN)
        if index == self.cursor:
            # On top of the row's own styles (Strip.apply_style would put it underneath, and the
            # padding's background would win).
            strip = Strip(Segment.apply_style(strip, post_style=self._style("cursor")), strip.cell_length)
        return strip

    def _style(self, name: str) -> Style:
        style = self._style_memo.get(name)
        if style is None:
            if name == "cursor":
                style = self.get_component_rich_style("inbox-list--cursor")
            else:
                style = self.get_component_rich_style(f"inbox-list--{name}", partial=True)
            self._style_memo[name] = style
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_memo.clear()

    def _segments(self, row: InboxRow, part: int, width: int, height: int) -> list[Segment]:
        now: datetime = self._now()
        conv = row.conversation
        # An alert told and not yet handled: "!" beside the cursor's place, and the name stands out.
        alerted = self.desk.alerts.alerted(conv.id)
        marker = ("▸" if row is self.current else " ") + (ALERTED if alerted else " ")
        name_style = "alerted" if alerted else "name"
        unread = f"{conv.unread} new" if conv.unread else ""
        sla = row.sla(now)
        sla_text = sla_label(sla, self.ctx.zone, now, width=18)  # the SLA column, both layouts
        sla_style = {SlaKind.BREACHED: "breached", SlaKind.DUE_SOON: "due"}.get(sla.kind, "muted")
        win = row.window(now)
        win_text = window_label(win)
        win_style = "closed" if not win.open else ("closing" if win.closing_soon else "muted")
        status = queue_status(conv, now, self.ctx.zone, until=False)
        mark = PRIORITY_MARKS[conv.priority]
        who = (mark + " " if mark else "") + display_name(conv.customer.name)
        number = row.number
        dept = row.department
        lang = conv.language or ""  # the detected language: its code is enough here
        waited = waited_label(conv, now)
        preview = flatten(conv.preview)
        ours = conv.preview_direction is Direction.OUTBOUND
        if ours and not conv.undelivered:
            preview = "you: " + preview
        if conv.labels:
            preview = f"{labels_text(conv.labels)} · {preview}"

        def cell(text: str, size: int, style: str | None = None) -> Segment:
            return Segment(set_cell_size(text, size), self._style(style) if style else PLAIN)

        def last(room: int, style: str | None = None) -> list[Segment]:
            # A failure the agent has not seen, in words, instead of "you: <text>" (which reads
            # as if it had arrived), or before the customer's newer message.
            if not conv.undelivered:
                return [cell(" " + preview, room, style)]
            mark = cell(" " + UNDELIVERED, min(room, cell_len(UNDELIVERED) + 1), "breached")
            return [mark, cell((": " if ours else " · ") + preview, max(room - mark.cell_length, 0), style)]

        if height == 1:
            fixed = [
                Segment(marker, PLAIN),
                cell(who, 22, name_style),
                cell(" " + number, 19, "muted"),
                cell(" " + dept, 10),
                cell(" " + lang, 4, "muted"),
                cell(" " + sla_text, 19, sla_style),
                cell(" " + win_text, 17, win_style),
                cell(" " + waited, 12, "muted"),
                cell(" " + unread, 8, "unread"),
                cell(" " + status, 9, "muted"),
            ]
            used = sum(s.cell_length for s in fixed)
            return fixed + last(max(width - used, 0))
        if part == 0:
            # (46: the marker and the columns on the right.)
            left = [Segment(marker, PLAIN), cell(who, min(max(width - 46, 10), 30), name_style)]
            right = [
                cell(" " + number, 19, "muted"), cell(" " + dept, 10), cell(" " + lang, 4, "muted"),
                cell(" " + unread, 8, "unread"),
            ]
            return left + right
        parts = [
            Segment("  ", PLAIN),
            cell(sla_text, 18, sla_style),
            cell(" " + win_text, 17, win_style),
            cell(" " + waited, 12, "muted"),
            cell(" " + status, 9, "muted"),
        ]
        used = sum(s.cell_length for s in parts)
        return parts + last(max(width - used, 0), "muted")
