"""`?` on any screen: every key that screen answers to, with what it does."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Input, Static, TextArea

from tui.plain import plain
from tui.screens.base import DeskModal

SECTIONS = {"desk": "", "editor": "Editing text", "textual": "More keys (Textual's)"}
"""The desk's own keys come first, untitled (the ones an agent needs); then the text editor's
(TextArea and Input: cursor, select, cut, undo ...); then Textual's other ones (focus, scrolling,
the command palette)."""


def _section(node: DOMNode, binding: Binding) -> str:
    """Which section of the help a binding belongs in: whoever defined it."""
    for cls in type(node).__mro__:
        for own in Binding.make_bindings(cls.__dict__.get("BINDINGS", [])):
            if own.key == binding.key and own.action == binding.action:
                if cls.__module__.partition(".")[0] == "tui":
                    return "desk"
                return "editor" if isinstance(node, (TextArea, Input)) else "textual"
    return "textual"


def describe_keys(screen: Screen[Any]) -> Text:
    """The screen's active bindings as aligned "keys  what it does" lines, one line per action
    (its keys together, "k, ↑"), the desk's own keys first, then the editor's, then Textual's."""
    rows: dict[str, dict[tuple[str, str], list[str]]] = {name: {} for name in SECTIONS}
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.system:
            continue
        what = binding.tooltip or binding.description or binding.action
        keys = rows[_section(active.node, binding)].setdefault((binding.action, what), [])
        keys.append(screen.app.get_key_display(binding))
    width = max((len(", ".join(k)) for section in rows.values() for k in section.values()), default=0)
    text = Text()
    for name, title in SECTIONS.items():
        if not rows[name]:
            continue
        if title:
            text.append(f"\n{title}\n", style="bold underline")
        for (_, what), keys in rows[name].items():
            text.append(f"{', '.join(keys):>{width}}  ", style="bold")
            text.append(f"{what}\n")
    text.rstrip()
    return text


class HelpScreen(DeskModal[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def __init__(self, title: str, keys: Text) -> None:
        super().__init__()
        self._title = title
        self._keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(plain(f"Keys: {self._title}", style="bold"), id="help-title")
            yield Static(self._keys)
            yield Static(Text("escape closes this help. ctrl+p opens the command palette."), classes="muted")

    def on_mount(self) -> None:
        self.query_one("#help").border_title = "help"
