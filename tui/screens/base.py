"""The base of every screen and modal, and what each of them must do the same way."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from textual.screen import ModalScreen, Screen
from textual.worker import Worker

R = TypeVar("R")
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Any]])


def reports_failure(job: str) -> Callable[[Handler], Handler]:
    """For a handler that writes (sending, resolving): a failure (a full disk, a damaged store)
    reaches the agent as a sentence naming `job`, and the log with its traceback, as a worker's
    does; without this, Textual ends the app with a traceback. What the agent typed stays where it
    was: the handlers let go of it only after the write returned."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def reported(self: Screen[Any], *args: Any, **kwargs: Any) -> Any:
            try:
                return await handler(self, *args, **kwargs)
            except Exception as error:  # noqa: BLE001 - told to the agent and logged, in one place
                self.app.report_failure(job, error)  # type: ignore[attr-defined]
                return None

        return reported  # type: ignore[return-value]

    return decorate


class _ReportsWorkerFailures:
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Textual posts a worker's state to the node that ran it and does not bubble it: without
        # this, a failed draft save or download on a screen would pass in silence.
        self.app.worker_failed(event)  # type: ignore[attr-defined]


class DeskScreen(_ReportsWorkerFailures, Screen[R]):
    """A full screen of the desk."""


class DeskModal(_ReportsWorkerFailures, ModalScreen[R]):
    """A modal of the desk."""
