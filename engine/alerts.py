"""Alerts for a face of the desk: the watch (desk.alerts) fed from the store, and the command.

The desk and `wadesk serve` each make one `Alerts`: `start()` reads the conversations in a thread
(the state at start is known, not told), `changed()` follows the store's changes, `due()` says
what has been crossed since, once. `AlertCommand` runs `[alerts] command` for each alert: without
a shell, in a thread (a slow notifier never holds the desk up), with WADESK_ALERT_KIND,
WADESK_CONVERSATION, WADESK_CUSTOMER (neutralised) and WADESK_DUE (ISO 8601, UTC) in its
environment and the Cloud API's secrets taken out of it. Its output goes nowhere (it must not
write over the desk's screen); a failure comes back as one sentence.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from collections.abc import Iterable, Mapping

from desk.alerts import Alert, AlertSettings, AlertWatch
from desk.text import display_name
from engine.context import DeskContext

log = logging.getLogger(__name__)

COMMAND_SECONDS = 30.0
"""How long the alert command may run before it is stopped (a notifier takes well under 1 s)."""
AT_ONCE = 4
"""Commands running at once: a burst of alerts (a morning's breaches) queues behind these."""


class AlertCommand:
    def __init__(self, argv: Iterable[str], withheld: Iterable[str] = (), timeout: float = COMMAND_SECONDS) -> None:
        self.argv = tuple(argv)
        self._withheld = frozenset(withheld)
        """Environment variables the command never gets (the secrets the desk reads)."""
        self._timeout = timeout
        self._slots: asyncio.Semaphore | None = None

    def environment(self, alert: Alert, base: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in (os.environ if base is None else base).items() if k not in self._withheld}
        env.update(
            WADESK_ALERT_KIND=alert.kind.value,
            WADESK_CONVERSATION=alert.conversation_id,
            WADESK_CUSTOMER=display_name(alert.customer, 200),
            WADESK_DUE=alert.due.isoformat(),
        )
        return env

    async def run(self, alert: Alert) -> str | None:
        """Run the command for `alert`; None when it exited 0, else a sentence saying why not."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(AT_ONCE)
        async with self._slots:
            return await asyncio.to_thread(self._run, alert)

    def _run(self, alert: Alert) -> str | None:
        program = self.argv[0]
        try:
            done = subprocess.run(
                self.argv,
                env=self.environment(alert),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=self._timeout,
                check=False,
            )
        except FileNotFoundError:
            return f"The alert command {program} was not found; check [alerts] command."
        except PermissionError:
            return f"The alert command {program} may not be run (permission denied); check [alerts] command."
        except subprocess.TimeoutExpired:
            return f"The alert command {program} did not finish within {self._timeout:g} s and was stopped."
        except OSError as exc:
            return f"The alert command {program} could not be started: {exc.strerror or exc}."
        if done.returncode != 0:
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] if done.stderr else []
            log.warning("alert command %s exited with %s: %s", program, done.returncode, tail[0] if tail else "")
            return f"The alert command {program} failed (exit status {done.returncode})."
        return None


class Alerts:
    """The desk's alerts, for whichever face runs them (the app, `wadesk serve`)."""

    def __init__(self, context: DeskContext) -> None:
        self.context = context
        config = context.config
        self.settings = AlertSettings.from_config(config.alerts)
        self._watch: AlertWatch | None = None
        self._pending: set[str] = set()
        """Conversations that changed while the watch was being built."""
        cloud = config.cloud
        self.command = (
            AlertCommand(config.alerts.command, (cloud.access_token_env, cloud.app_secret_env, cloud.verify_token_env))
            if config.alerts.command
            else None
        )

    async def start(self) -> None:
        """Read every conversation on the clock (in a thread: ~10k of them at 100k); what they
        have crossed already is known, not told."""
        watch = await asyncio.to_thread(self._build)
        self._watch = watch
        pending, self._pending = self._pending, set()
        self.changed(pending)

    def _build(self) -> AlertWatch:
        ctx = self.context
        watch = AlertWatch(ctx.policy, self.settings)
        # Without a resolution clock only a customer waiting on us can cross anything: the store
        # answers those from its index alone (~10% of the conversations).
        resolution = any(p.resolution or any(q.resolution for q in p.priorities.values()) for p in ctx.policies.values())
        watch.load(ctx.store.conversations() if resolution else ctx.store.waiting_conversations(), ctx.clock.now())
        return watch

    def changed(self, conversation_ids: Iterable[str]) -> None:
        if self._watch is None:
            self._pending.update(conversation_ids)
            return
        store, now = self.context.store, self.context.clock.now()
        for cid in conversation_ids:
            conv = store.conversation(cid)
            if conv is not None:
                self._watch.update(conv, now)

    def due(self) -> list[Alert]:
        """What has been crossed since the last call (nothing before `start` is done)."""
        return self._watch.due(self.context.clock.now()) if self._watch is not None else []

    def alerted(self, conversation_id: str) -> bool:
        """Whether the agent was told of this conversation and it has not been handled since."""
        return self._watch is not None and self._watch.alerted(conversation_id)
