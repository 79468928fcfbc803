"""One line of tabs above the inbox and the conversation: "1 Ana  [2 Bruno ●]  3 Chen", the shown
one in brackets, ● where there is news (words and symbols, never colour alone). Hidden while no
conversation is open as a tab, so that the inbox keeps its rows."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.widgets import Static

from desk.models import Conversation
from desk.text import display_name
from tui.screens.base import OnTheDesk
from tui.tabs import has_news

HINT = "f2/f3 switch · alt+w closes"


def tab_line(ids: list[str], current: str | None, conversation: Callable[[str], Conversation | None], width: int) -> Text:
    """The tabs fitted to `width`: names are cut shorter until they fit, then the hint goes."""
    for room in (24, 16, 10, 6, 3):
        parts = []
        for n, cid in enumerate(ids, 1):
            conv = conversation(cid)
            name = display_name(conv.customer.name, room) if conv is not None else "gone"
            news = " ●" if conv is not None and has_news(conv) else ""
            label = f"{n} {name}{news}"
            parts.append(f"[{label}]" if cid == current else f" {label} ")
        line = " ".join(parts)
        for tail in (f"   {HINT}", ""):
            if len(line + tail) <= width:
                return Text(line + tail)  # a customer's name is never markup
    return Text(line[:width])


class TabBar(OnTheDesk, Static):
    DEFAULT_CSS = "TabBar { height: 1; display: none; }"

    def on_mount(self) -> None:
        self.desk.show_tabs()

    def show_tabs(self, ids: list[str], current: str | None, conversation: Callable[[str], Conversation | None]) -> None:
        self.display = bool(ids)
        if ids:
            self.update(tab_line(ids, current, conversation, self.size.width or self.app.size.width))
