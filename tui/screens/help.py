"""`?` on any screen: every key that screen answers to, with what it does."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def describe_keys(screen: Screen) -> Text:
    """The screen's active bindings as aligned "key  description" lines."""
    seen: set[tuple[str, str]] = set()
    rows: list[tuple[str, str]] = []
    for key, active in screen.active_bindings.items():
        binding = active.binding
        what = binding.tooltip or binding.description or binding.action
        if binding.system or (binding.action, what) in seen:
            continue
        seen.add((binding.action, what))
        keys = ", ".join(screen.app.get_key_display(Binding(k, "")) for k in binding.key.split(","))
        if key != binding.key.split(",")[0]:
            keys = screen.app.get_key_display(Binding(key, ""))
        rows.append((keys, what))
    width = max((len(k) for k, _ in rows), default=0)
    text = Text()
    for keys, what in rows:
        text.append(f"{keys:>{width}}  ", style="bold")
        text.append(f"{what}\n")
    return text


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, title: str, keys: Text) -> None:
        super().__init__()
        self._title = title
        self._keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(Text(f"Keys: {self._title}", style="bold"), id="help-title")
            yield Static(self._keys)
            yield Static(Text("escape closes this help. ctrl+p opens the command palette."), classes="muted")

    def on_mount(self) -> None:
        self.query_one("#help").border_title = "help"
