"""Choose a file to send: its path and an optional caption. Returns (path, caption) or None."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from desk.models import file_kind
from desk.summary import human_size
from tui.screens.base import DeskModal

LIMITS = {"image": 5 * 1024 * 1024, "document": 100 * 1024 * 1024}
"""WhatsApp's size limits for what we send (../shared/reference/whatsapp-cloud-api.md §5)."""


class AttachScreen(DeskModal[tuple[Path, str] | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="attach.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="attach"):
            yield Input(placeholder="path of the file to send", id="attach-path")
            yield Input(placeholder="caption (optional)", id="attach-caption")
            yield Static(Text("enter sends · escape cancels · JPEG/PNG up to 5 MB go as images, the rest as documents (100 MB)"), classes="muted")

    def on_mount(self) -> None:
        self.query_one("#attach").border_title = "send a file"
        self.query_one("#attach-path").focus()

    @on(Input.Submitted)
    def _submit(self) -> None:
        path = Path(self.query_one("#attach-path", Input).value.strip()).expanduser()
        if not path.is_file():
            self.notify(f"No file at {path}.", severity="warning", markup=False)
            return
        kind, _ = file_kind(path.name)
        size = path.stat().st_size
        if size > LIMITS[kind]:
            self.notify(f"{path.name} is {human_size(size)}: WhatsApp takes {kind}s up to {human_size(LIMITS[kind])}.", severity="warning", markup=False)
            return
        self.dismiss((path, self.query_one("#attach-caption", Input).value.strip()))
