"""An inbound file: open it with the system's opener, or save a copy where the agent says.

The file itself is fetched by the backend (checked against WhatsApp's sha256) into the data
directory before this screen opens; nothing here touches the network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from desk.text import flatten
from tui.plain import plain
from tui.screens.base import DeskModal


def system_opener() -> list[str] | None:
    """The command that opens a file in its usual program here, or None (a server over SSH)."""
    if sys.platform == "darwin":
        return ["open"]
    if sys.platform.startswith("linux") and (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        opener = shutil.which("xdg-open")
        return [opener] if opener else None
    return None


class MediaScreen(DeskModal[None]):
    BINDINGS = [
        Binding("ctrl+o", "open", "Open", tooltip="Open the file with the system's program for it.", id="media.open"),
        Binding("escape", "dismiss", "Close", id="media.close"),
    ]

    def __init__(self, path: Path, label: str) -> None:
        super().__init__()
        self.path = path
        self.label = label

    def compose(self) -> ComposeResult:
        suggestion = Path.home() / "Downloads" / self.path.name
        with Vertical(id="media"):
            yield Static(plain(flatten(self.label, 200), style="bold"))
            yield Static(plain(f"downloaded and checked: {self.path}"))
            yield Input(str(suggestion), placeholder="save a copy to…", id="media-save")
            hint = "enter saves a copy there · ctrl+o opens it · escape closes"
            if system_opener() is None:
                hint = "enter saves a copy there · escape closes (no program to open files here)"
            yield Static(Text(hint), classes="muted")

    def on_mount(self) -> None:
        self.query_one("#media").border_title = "file from the customer"

    @on(Input.Submitted, "#media-save")
    def _save(self, event: Input.Submitted) -> None:
        typed = event.value.strip()
        target = Path(typed).expanduser()
        # A directory, existing or meant (a trailing slash, which Path drops): the file goes inside
        # it under its own name, never as a file named like the directory.
        if typed.endswith(("/", os.sep)) or target.is_dir():
            target = target / self.path.name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.path, target)
        except OSError as exc:
            self.notify(f"Could not save to {target}: {exc.strerror or exc}", severity="error", markup=False)
            return
        self.notify(f"Saved to {target}", markup=False)
        self.dismiss()

    def action_open(self) -> None:
        opener = system_opener()
        if opener is None:
            self.notify("No program to open files here; save a copy instead.", severity="warning", markup=False)
            return
        subprocess.Popen([*opener, str(self.path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
        self.dismiss()
