"""The base of every screen and modal, and what each of them must do the same way."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar, cast

from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.worker import Worker

if TYPE_CHECKING:
    from engine.context import DeskContext
    from tui.app import WadeskApp

R = TypeVar("R")
S = TypeVar("S", bound="OnTheDesk")
P = ParamSpec("P")
T = TypeVar("T")


def reports_failure(
    job: str,
) -> Callable[[Callable[Concatenate[S, P], Awaitable[T]]], Callable[Concatenate[S, P], Awaitable[T | None]]]:
    """For a handler that writes (sending, resolving): a failure (a full disk, a damaged store)
    reaches the agent as a sentence naming `job`, and the log with its traceback, as a worker's
    does; without this, Textual ends the app with a traceback. What the agent typed stays where it
    was: the handlers let go of it only after the write returned."""

    def decorate(handler: Callable[Concatenate[S, P], Awaitable[T]]) -> Callable[Concatenate[S, P], Awaitable[T | None]]:
        @functools.wraps(handler)
        async def reported(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T | None:
            try:
                return await handler(self, *args, **kwargs)
            except Exception as error:  # noqa: BLE001 - told to the agent and logged, in one place
                self.desk.report_failure(job, error)
                return None

        return reported

    return decorate


class OnTheDesk:
    """Typed access to the desk from a screen or a widget (Textual's `self.app` is `App[Any]`).

    A plain mixin, not a DOMNode: Textual gathers a widget's default CSS along the first DOMNode
    base of each class, so a DOMNode mixin first in the bases would hide Screen's and ScrollView's."""

    @property
    def desk(self) -> WadeskApp:
        return cast("WadeskApp", cast(DOMNode, self).app)

    @property
    def ctx(self) -> DeskContext:
        return self.desk.ctx


class _ReportsWorkerFailures(OnTheDesk):
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Textual posts a worker's state to the node that ran it and does not bubble it: without
        # this, a failed draft save or download on a screen would pass in silence.
        self.desk.worker_failed(event)


class DeskScreen(_ReportsWorkerFailures, Screen[R]):
    """A full screen of the desk."""


class DeskModal(_ReportsWorkerFailures, ModalScreen[R]):
    """A modal of the desk."""
