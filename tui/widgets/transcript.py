"""A conversation's messages, oldest first, as plain text (never markup): a customer's words are
shown exactly as sent, with control and bidi-override characters neutralised (desk.text.safe)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from desk.models import Direction, Message, MessageStatus, awaiting_retry
from desk.store.audit import MESSAGE_ACTIONS, AuditEntry
from desk.summary import AUTOMATIC, AWAY, GREETING, one_line
from desk.text import display_name, flatten, safe
from tui.labels import activity, local_time, status_label

RETRY_HINT = "ctrl+r retries"
SENT_BY_ITSELF = {GREETING: "automatic greeting", AWAY: "automatic away message"}
"""Who sent what the desk sent by itself (desk.autoreply), as the transcript says it."""


class Transcript(VerticalScroll, can_focus=True):
    COMPONENT_CLASSES = {
        "transcript--in", "transcript--out", "transcript--meta", "transcript--failed", "transcript--unknown",
        "transcript--found",
    }

    def __init__(self, *, found: str | None = None, id: str | None = None) -> None:
        """`found`: the id of a message to highlight and scroll to when first shown (a search's hit)."""
        super().__init__(id=id)
        self.found = found
        self._found_at: int | None = None
        """Where in the text the found message starts, once rendered."""
        self._scrolled_to_found = False

    def compose(self) -> ComposeResult:
        yield Static(id="transcript-body")

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
        conversation's audit log; what was done besides messages is shown between them."""
        at_end = self.scroll_y >= self.max_scroll_y - 1
        text = self.render_messages(messages, customer_name, zone, now, log)
        if problem:
            text = Text.assemble((f"✖ {safe(problem)}\n\n", self._style("failed")), text)
        self.query_one("#transcript-body", Static).update(text)
        if self._found_at is not None and not self._scrolled_to_found:
            self._scrolled_to_found = True
            self.call_after_refresh(self._scroll_to_found, text)
        elif at_end:
            self.call_after_refresh(self.scroll_end, animate=False)

    def _scroll_to_found(self, text: Text) -> None:
        """The found message's first line at the top, unless the transcript ends first."""
        assert self._found_at is not None  # set by render_messages before this is scheduled
        width = self.scrollable_content_region.width or self.size.width
        lines = len(text[: self._found_at].wrap(self.app.console, max(width, 1))) - 1 if self._found_at else 0
        self.scroll_to(y=max(lines, 0), animate=False)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"transcript--{name}", partial=True)

    def render_messages(
        self, messages: list[Message], customer_name: str, zone: ZoneInfo, now: datetime, log: Sequence[AuditEntry] = ()
    ) -> Text:
        by_id = {m.id: m for m in messages}
        by_id.update({m.wamid: m for m in messages if m.wamid})
        text = Text(no_wrap=False)
        if not messages:
            text.append("No messages yet.", self._style("meta"))
        name = display_name(customer_name, 40)
        retryable = {m.id for m in awaiting_retry(messages)}
        replaced = {m.replaces for m in messages if m.replaces}
        # Activity between messages, each before the first message after it (a reopening before
        # the customer's message that caused it).
        events = [e for e in log if e.action not in MESSAGE_ACTIONS and e.at is not None]
        self._found_at = None
        for m in messages:
            while events and events[0].at is not None and events[0].at <= m.timestamp:
                self._activity(text, events.pop(0), zone, now)
            start = len(text)
            inbound = m.direction is Direction.INBOUND
            text.append(local_time(m.timestamp, zone, now) + "  ", self._style("meta"))
            if inbound:
                text.append(f"← {name}", self._style("in"))
            elif m.type == "note":
                text.append(f"✎ note by {display_name(m.agent or 'you', 30)}, never sent", self._style("meta"))
            else:
                text.append(f"→ {SENT_BY_ITSELF.get(m.type) or m.agent or 'you'}", self._style("out"))
                style = {MessageStatus.FAILED: "failed", MessageStatus.UNKNOWN: "unknown"}.get(m.status, "meta")
                text.append(f"  {status_label(m)}", self._style(style))
                if m.id in retryable:
                    hint = f"{RETRY_HINT}, ctrl+g edits" if m.type == "text" else RETRY_HINT
                    text.append(f"  ({hint})", self._style("meta"))
                elif m.id in replaced:
                    text.append("  (sent again below)", self._style("meta"))
            text.append("\n")
            quoted = by_id.get(m.reply_to or m.reaction_to or "")
            if m.reply_to:
                what = flatten(one_line(quoted), 60) if quoted else "an earlier message"
                text.append(f"  ┆ ↪ replying to: {what}\n", self._style("meta"))
            if m.type == "reaction":
                target = flatten(one_line(quoted), 50) if quoted else "a message"
                emoji = safe(m.text) if m.text else "(removed)"
                text.append(f"  reacted {emoji} to: {target}\n")
            elif m.type == "text" or m.type in AUTOMATIC:
                for line in safe(m.text).split("\n"):
                    text.append(f"  {line}\n")
            elif m.type == "note":
                for line in safe(m.text).split("\n"):
                    text.append(f"  ┃ {line}\n", self._style("meta"))
            elif m.media is not None and m.media.caption:
                # The file on its line, then its caption in full, as the customer wrote it: a
                # document's one-line form names the file and would drop the caption.
                bare = replace(m, text="", media=replace(m.media, caption=None))
                text.append(f"  [{flatten(one_line(bare))}]\n")
                for line in safe(m.media.caption).split("\n"):
                    text.append(f"  {line}\n")
            else:
                text.append(f"  [{flatten(one_line(m))}]\n")
                if m.type == "template" and m.text:
                    for line in safe(m.text).split("\n"):
                        text.append(f"  │ {line}\n", self._style("meta"))
            if m.id == self.found:
                self._found_at = start
                text.stylize(self._style("found"), start, len(text) - 1)
            text.append("\n")
        for entry in events:
            self._activity(text, entry, zone, now)
        text.rstrip()
        return text

    def _activity(self, text: Text, entry: AuditEntry, zone: ZoneInfo, now: datetime) -> None:
        assert entry.at is not None  # only timed entries are placed
        text.append(f"{local_time(entry.at, zone, now)}  · {activity(entry, zone, now)}\n\n", self._style("meta"))
