"""A conversation's messages, oldest first, as plain text (never markup): a customer's words are
shown exactly as sent, with control and bidi-override characters neutralised (desk.text.safe).

A message cursor picks the message that reply, react, copy, download and retry act on: it starts
on the newest message and follows new ones while it is there. It is marked on the message's first
line with ▶ and reverse video (never colour alone) once the agent uses it: while the transcript
has the focus, or after the agent moved it or `select` put it somewhere. Typing in the composer
with the cursor untouched, the keys act on the newest message and nothing is marked.

A line widget (ScrollView + render_line, as the style guide's item 12 says for long lists): each
message is rendered and wrapped once, and the cursor moving re-renders only the two messages it
leaves and reaches, so a key costs the same at 20 messages as at 2,000."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.visual import Visual, visualize

from desk.models import Direction, Message, MessageStatus, awaiting_retry
from desk.store.audit import MESSAGE_ACTIONS, AuditEntry
from desk.summary import AUTOMATIC, AWAY, GREETING, one_line
from desk.text import display_name, flatten, safe
from tui.labels import activity, local_time, status_label

RETRY_HINT = "ctrl+r retries"
SENT_BY_ITSELF = {GREETING: "automatic greeting", AWAY: "automatic away message"}
"""Who sent what the desk sent by itself (desk.autoreply), as the transcript says it."""
CURSOR = "▶ "
"""Before the first line of the message under the cursor."""


@dataclass(frozen=True, slots=True)
class _Seen:
    """What the transcript was last given, and what every message's rendering reads from it."""

    messages: list[Message]
    name: str
    zone: ZoneInfo
    now: datetime
    problem: str | None
    log: Sequence[AuditEntry]
    by_id: dict[str, Message]
    retryable: frozenset[str]
    replaced: frozenset[str]


def _seen(
    messages: list[Message], customer_name: str, zone: ZoneInfo, now: datetime, problem: str | None, log: Sequence[AuditEntry]
) -> _Seen:
    by_id = {m.id: m for m in messages}
    by_id.update({m.wamid: m for m in messages if m.wamid})
    return _Seen(
        messages, display_name(customer_name, 40), zone, now, problem, log, by_id,
        frozenset(m.id for m in awaiting_retry(messages)), frozenset(m.replaces for m in messages if m.replaces),
    )


class Transcript(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up,k", "step(-1)", "Previous message", tooltip="Move the message cursor to the message before.", id="transcript.up", show=False),
        Binding("down,j", "step(1)", "Next message", tooltip="Move the message cursor to the message after.", id="transcript.down", show=False),
        Binding("home", "step_to(0)", "First message", tooltip="Move the message cursor to the first message.", id="transcript.first", show=False),
        Binding("end", "step_to(-1)", "Newest message", tooltip="Move the message cursor to the newest message.", id="transcript.last", show=False),
    ]
    COMPONENT_CLASSES = {
        "transcript--in", "transcript--out", "transcript--meta", "transcript--failed", "transcript--unknown",
        "transcript--cursor", "transcript--cursor-blurred",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._seen: _Seen | None = None
        self._chosen: str | None = None
        """The message id the agent put the cursor on; None: untouched (the newest, unmarked)."""
        self._open_at: str | None = None
        """A message to open at, once shown (`open_at`)."""
        self._pieces: list[tuple[str | None, Text]] = []
        """What is shown, piece by piece (a message, keyed by its id; an activity line or the
        store's problem, None), one blank line between pieces."""
        self._strips: list[list[Strip]] = []
        """Each piece's lines, wrapped at `_width`."""
        self._width = 0
        self._lines: list[Strip] = []
        self._first_line: dict[str, tuple[int, int]] = {}
        """A message id -> its first line and how many lines it has."""
        self._painted: str | None = None
        """The message id drawn as under the cursor (None: none is marked)."""
        self._painted_focused = False
        """Whether it was drawn as the focused transcript's cursor (reverse) or the typing one's."""

    @property
    def messages(self) -> list[Message]:
        return self._seen.messages if self._seen is not None else []

    @property
    def shown_text(self) -> str:
        """Everything the transcript shows, as plain text (what a test reads)."""
        return "\n\n".join(text.plain for _, text in self._pieces)

    # --- the message cursor ------------------------------------------------------------------------
    @property
    def cursor(self) -> Message | None:
        """The message under the cursor: the one chosen, else the newest (None: no messages)."""
        if self._chosen is not None:
            for m in self.messages:
                if m.id == self._chosen:
                    return m
        return self.messages[-1] if self.messages else None

    @property
    def marked(self) -> bool:
        """Whether the cursor is shown: the agent is using it."""
        return self.has_focus or self._chosen is not None

    def open_at(self, message_id: str) -> None:
        """Show this message first, under the cursor, when the transcript is next shown."""
        self._open_at = message_id

    def select(self, message_id: str) -> bool:
        """Put the cursor on the message with this id (ours or WhatsApp's), marked, and scroll it
        into view; False (and nothing moves) when the transcript has no such message."""
        found = next((m for m in self.messages if message_id in (m.id, m.wamid)), None)
        if found is None:
            return False
        self._chosen = found.id
        self._mark(scroll=True)
        return True

    def action_step(self, by: int) -> None:
        current = self.cursor
        if current is None:
            return
        at = self.messages.index(current)
        self._chosen = self.messages[max(0, min(at + by, len(self.messages) - 1))].id
        self._mark(scroll=True)

    def action_step_to(self, index: int) -> None:
        if self.messages:
            self._chosen = self.messages[index].id
            self._mark(scroll=True)

    def watch_has_focus(self, has_focus: bool) -> None:
        """The cursor is drawn as `has_focus` now is. Not in on_focus/on_blur: those run before
        Textual's own handlers set `has_focus`, so a blur left the cursor drawn until the next
        `show` (in team mode the transcript arrives after the screen opens, and whether the
        cursor stayed then depended on whether it arrived before or after the composer took the
        focus from the transcript, which the screen's auto-focus gives it for a moment)."""
        super().watch_has_focus(has_focus)
        self._mark(scroll=has_focus and self._chosen is None)

    def _mark(self, *, scroll: bool = False) -> None:
        """Draw the cursor where it is now (only the messages it left and reached are rendered
        again); `scroll`: bring its message into view."""
        current = self.cursor
        wanted = current.id if current is not None and self.marked else None
        if wanted != self._painted or self.has_focus != self._painted_focused:
            before, self._painted, self._painted_focused = self._painted, wanted, self.has_focus
            for key in {before, wanted}:
                if key is not None:
                    self._restyle(key)
        if scroll and current is not None and current.id in self._first_line:
            first, count = self._first_line[current.id]
            height = min(count, max(self.scrollable_content_region.height, 1))
            self.scroll_to_region(Region(0, first, 1, height), animate=False, immediate=True, force=True)

    # --- showing ------------------------------------------------------------------------------------
    def show(
        self,
        messages: list[Message],
        customer_name: str,
        zone: ZoneInfo,
        now: datetime,
        problem: str | None = None,
        log: Sequence[AuditEntry] = (),
    ) -> None:
        """`problem`: what the store says is wrong with this conversation's file, shown first, so
        that a transcript being rebuilt never reads as a conversation with no messages. `log`: the
        conversation's audit log; what was done besides messages is shown between them. The
        cursor stays on its message, or on the newest when it was there."""
        at_end = self.scroll_y >= self.max_scroll_y - 1
        previous = self.messages
        if self._chosen is not None and previous and self._chosen == previous[-1].id and messages:
            self._chosen = messages[-1].id  # it was on the newest: it follows
        self._seen = seen = _seen(messages, customer_name, zone, now, problem, log)
        current = self.cursor
        self._painted = current.id if current is not None and self.marked else None
        self._painted_focused = self.has_focus
        pieces = list(self._render_pieces(seen, self._painted))
        if problem:
            pieces.insert(0, (None, Text(f"✖ {safe(problem)}", self._style("failed"))))
        self._pieces = pieces
        self._width = self.scrollable_content_region.width
        self._strips = [self._wrap(text) for _, text in pieces]
        self._join()
        opening = self._open_at
        if opening is not None and any(opening in (m.id, m.wamid) for m in messages):
            # Opened at a message (a search's hit): there, under the cursor, instead of the end.
            self._open_at = None
            self.call_after_refresh(self.select, opening)
        elif at_end:
            self.call_after_refresh(self.scroll_end, animate=False)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"transcript--{name}", partial=True)

    def _restyle(self, message_id: str) -> None:
        """Render one message again (the cursor came or went, or its style changed)."""
        seen = self._seen
        message = next((m for m in self.messages if m.id == message_id), None)
        if seen is None or message is None:
            return
        for i, (key, _) in enumerate(self._pieces):
            if key == message_id:
                text = self._message(message, seen, marked=message_id == self._painted)
                strips = self._wrap(text)
                self._pieces[i] = (key, text)
                first, count = self._first_line.get(message_id, (0, -1))
                self._strips[i] = strips
                if len(strips) == count:  # as tall as before (nearly always): only its lines change
                    self._lines[first:first + count] = strips
                    self.refresh()
                else:
                    self._join()
                return

    # --- lines --------------------------------------------------------------------------------------
    def _wrap(self, text: Text) -> list[Strip]:
        """`text` as the lines a Static of the transcript's width would show (none before the
        first layout: `on_resize` wraps them then)."""
        if self._width <= 0:
            return []
        return Visual.to_strips(self, visualize(self, text, markup=False), self._width, None, self.visual_style)

    def _join(self) -> None:
        """The pieces' lines one after another, a blank line between two pieces."""
        lines: list[Strip] = []
        first: dict[str, tuple[int, int]] = {}
        for (key, _), strips in zip(self._pieces, self._strips):
            if lines:
                lines.append(Strip([]))
            if key is not None:
                first[key] = (len(lines), len(strips))
            lines.extend(strips)
        self._lines, self._first_line = lines, first
        self.virtual_size = Size(self._width, len(lines))
        self.refresh()

    def on_resize(self) -> None:
        self._rewrap()

    def _rewrap(self) -> None:
        width = self.scrollable_content_region.width
        if width != self._width:
            self._width = width
            self._strips = [self._wrap(text) for _, text in self._pieces]
            self._join()

    def render_line(self, y: int) -> Strip:
        if self.scrollable_content_region.width != self._width:
            self.call_later(self._rewrap)  # a scroll bar came or went: wrap again, next frame
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        style = self.rich_style
        width = self.scrollable_content_region.width
        if index >= len(self._lines):
            return Strip.blank(width, style)
        return self._lines[index].crop_extend(scroll_x, scroll_x + width, style)

    # --- text ---------------------------------------------------------------------------------------
    def render_messages(
        self,
        messages: list[Message],
        customer_name: str,
        zone: ZoneInfo,
        now: datetime,
        log: Sequence[AuditEntry] = (),
        *,
        cursor: str | None = None,
    ) -> Text:
        """The transcript as one text; `cursor`: the id of the message to mark as under the cursor."""
        seen = _seen(messages, customer_name, zone, now, None, log)
        return Text("\n\n").join(text for _, text in self._render_pieces(seen, cursor))

    def _render_pieces(self, seen: _Seen, cursor: str | None) -> Iterator[tuple[str | None, Text]]:
        """The messages, and the activity between them each before the first message after it (a
        reopening before the customer's message that caused it)."""
        if not seen.messages:
            yield None, Text("No messages yet.", self._style("meta"))
        events = [e for e in seen.log if e.action not in MESSAGE_ACTIONS and e.at is not None]
        for m in seen.messages:
            while events and events[0].at is not None and events[0].at <= m.timestamp:
                yield None, self._activity(events.pop(0), seen.zone, seen.now)
            yield m.id, self._message(m, seen, marked=m.id == cursor)
        for entry in events:
            yield None, self._activity(entry, seen.zone, seen.now)

    def _message(self, m: Message, seen: _Seen, *, marked: bool) -> Text:
        """One message: its line (time, who, status) and what it says, customer text made safe."""
        text = Text(no_wrap=False)
        # Chosen here rather than by a :focus rule, so that the style is the focus's at once.
        cursor_style = self._style("cursor" if self.has_focus else "cursor-blurred")
        if marked:
            text.append(CURSOR, cursor_style)
        inbound = m.direction is Direction.INBOUND
        text.append(local_time(m.timestamp, seen.zone, seen.now) + "  ", self._style("meta"))
        if inbound:
            text.append(f"← {seen.name}", self._style("in"))
        elif m.type == "note":
            text.append(f"✎ note by {display_name(m.agent or 'you', 30)}, never sent", self._style("meta"))
        else:
            text.append(f"→ {SENT_BY_ITSELF.get(m.type) or m.agent or 'you'}", self._style("out"))
            style = {MessageStatus.FAILED: "failed", MessageStatus.UNKNOWN: "unknown"}.get(m.status, "meta")
            text.append(f"  {status_label(m)}", self._style(style))
            if m.id in seen.retryable:
                hint = f"{RETRY_HINT}, ctrl+g edits" if m.type == "text" else RETRY_HINT
                text.append(f"  ({hint})", self._style("meta"))
            elif m.id in seen.replaced:
                text.append("  (sent again below)", self._style("meta"))
        if marked:
            text.stylize(cursor_style, 0, len(text))
        quoted = seen.by_id.get(m.reply_to or m.reaction_to or "")
        if m.reply_to:
            what = flatten(one_line(quoted), 60) if quoted else "an earlier message"
            text.append(f"\n  ┆ ↪ replying to: {what}", self._style("meta"))
        if m.type == "reaction":
            target = flatten(one_line(quoted), 50) if quoted else "a message"
            emoji = safe(m.text) if m.text else "(removed)"
            text.append(f"\n  reacted {emoji} to: {target}")
        elif m.type == "text" or m.type in AUTOMATIC:
            for line in safe(m.text).split("\n"):
                text.append(f"\n  {line}")
        elif m.type == "note":
            for line in safe(m.text).split("\n"):
                text.append(f"\n  ┃ {line}", self._style("meta"))
        elif m.media is not None and m.media.caption:
            # The file on its line, then its caption in full, as the customer wrote it: a
            # document's one-line form names the file and would drop the caption.
            bare = replace(m, text="", media=replace(m.media, caption=None))
            text.append(f"\n  [{flatten(one_line(bare))}]")
            for line in safe(m.media.caption).split("\n"):
                text.append(f"\n  {line}")
        else:
            text.append(f"\n  [{flatten(one_line(m))}]")
            if m.type == "template" and m.text:
                for line in safe(m.text).split("\n"):
                    text.append(f"\n  │ {line}", self._style("meta"))
        return text

    def _activity(self, entry: AuditEntry, zone: ZoneInfo, now: datetime) -> Text:
        assert entry.at is not None  # only timed entries are placed
        return Text(f"{local_time(entry.at, zone, now)}  · {activity(entry, zone, now)}", self._style("meta"))
