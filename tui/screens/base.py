"""The base of every screen and modal: what each of them must do the same way."""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen, Screen
from textual.worker import Worker

R = TypeVar("R")


class _ReportsWorkerFailures:
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Textual posts a worker's state to the node that ran it and does not bubble it: without
        # this, a failed draft save or download on a screen would pass in silence.
        self.app.worker_failed(event)  # type: ignore[attr-defined]


class DeskScreen(_ReportsWorkerFailures, Screen[R]):
    """A full screen of the desk."""


class DeskModal(_ReportsWorkerFailures, ModalScreen[R]):
    """A modal of the desk."""
