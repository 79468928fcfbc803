"""The Textual app: the desk's engine (engine/) with screens on it.

The app runs the engine's pump and follows the store's changes in workers, hands the changes to
the screens once per burst, and turns the engine's results into notifications."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message as TextualMessage
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from backends.base import Capability, Link, LinkState, News, Said
from backends.errors import AUTH_CODES, NotSent, error_sentence
from desk.alerts import Alert, AlertKind
from desk.clock import tick_seconds
from desk.models import RETRYABLE, Conversation, Event, Message, MessageStatus, StatusChanged, TemplateChoice
from desk.store.contract import ChangeKind
from desk.text import display_name, safe
from engine import Engine
from engine.alerts import Alerts
from engine.context import DeskContext
from engine.local_api import DeskSocket
from tui.failures import WORKER_JOBS
from tui.keys import keymap
from tui.labels import local_time
from tui.messages import AlertsTold, ConversationsChanged, HubNews, TemplatesSynced
from tui.paste import install as install_paste_fix
from tui.tabs import MAX_TABS, Tabs
from tui.widgets.tab_bar import TabBar

log = logging.getLogger(__name__)


class _Flush(TextualMessage):
    """Hand the changed conversations to the screens; a burst of changes coalesces into one."""

    def can_replace(self, message: TextualMessage) -> bool:
        return isinstance(message, _Flush)


ALERTS_LATEST = 10.0
"""Seconds after start by which the alerts watch the store even if the inbox never loaded."""

ALERTS_SHOWN = 3
"""At most this many alerts' notifications on screen at once; beyond, one says there are more."""
ALERT_SECONDS = 20.0
"""How long an alert's notification stays."""
ALERT_DUE = {
    AlertKind.DUE_SOON: "due",
    AlertKind.BREACHED: "was due",
    AlertKind.WAITING: "as of",
    AlertKind.WINDOW_CLOSING: "closes",
}
"""How an alert's notification introduces its time."""


class WadeskApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "wadesk"
    BINDINGS = [
        # Not in the footers (help lists it): the inbox shows its own "q Quit", and the
        # conversation's footer needs the room at 80 columns.
        Binding("ctrl+q", "quit", "Quit", tooltip="Quit wadesk from any screen.", priority=True, id="app.quit", show=False),
        Binding("f2", "step_tab(-1)", "Tab left", tooltip="Show the tab to the left (open conversations).", id="tabs.previous", show=False),
        Binding("f3", "step_tab(1)", "Tab right", tooltip="Show the tab to the right.", id="tabs.next", show=False),
        Binding("alt+w", "close_tab", "Close tab", tooltip="Close the tab of the conversation shown.", id="tabs.close", show=False),
        *(Binding(f"alt+{n}", f"go_tab({n})", f"Tab {n}", show=False) for n in range(1, MAX_TABS + 1)),
    ]

    def __init__(self, context: DeskContext, *, pump_events: bool = True, serve_cli: bool = False) -> None:
        """`serve_cli`: serve the agent API on <data_dir>/desk.sock for `wadesk list|reply ...`
        (engine/local_api.py); the desk `wadesk` starts does."""
        super().__init__()
        # Before the driver starts: Textual would reorder a paste that holds ESC (tui/paste.py).
        install_paste_fix()
        self.ctx = context
        self.set_keymap(keymap(context.config.keys))  # [keys] in the config: checked by the CLI first
        self._pump_events = pump_events
        self._dirty: set[str] = set()
        self.engine = Engine(context, self._tell_store_fault, self._announce, lambda c, m: self._deliver(c, m, None))
        self.outbox = self.engine.outbox
        self._cli_socket = DeskSocket(self.engine) if serve_cli else None
        self.customer_panel = False
        """Whether the customer panel is open beside the transcript (f4), from conversation to
        conversation for the session (tui.widgets.customer_panel)."""
        self.tabs = Tabs([cid for cid in context.store.tabs(self.engine.writer.agent) if context.store.conversation(cid)])
        self.alerts = Alerts(context)
        self._alerts_started = False
        self._alert_toasts: deque[float] = deque()
        """When the alert notifications still on screen were shown (monotonic seconds)."""
        self._more_alerts_at = -ALERT_SECONDS

    def _tell_store_fault(self, sentence: str) -> None:
        self.notify(sentence, title="Store problem", severity="error", timeout=60, markup=False)

    # --- following the store ------------------------------------------------------------------------
    async def _follow_changes(self, after: int) -> None:
        """Every change to the store after number `after`, by whoever made it, reaches the screens
        once per burst."""
        async for change in self.ctx.store.changes(after):
            if change.kind is ChangeKind.CONVERSATION and change.conversation_id:
                self._dirty.add(change.conversation_id)
                self.post_message(_Flush())
            elif change.kind is ChangeKind.TEMPLATES and change.business_number_id:
                for screen in self.screen_stack:
                    screen.post_message(TemplatesSynced(change.business_number_id))
            elif change.kind is ChangeKind.RESYNC:
                self._dirty.update(c.id for c in self.ctx.store.conversations())
                self.post_message(_Flush())

    def on__flush(self, _: _Flush) -> None:
        if not self._dirty:
            return
        ids = frozenset(self._dirty)
        self._dirty.clear()
        for screen in self.screen_stack:
            screen.post_message(ConversationsChanged(ids))
        self.show_tabs()
        self.alerts.changed(ids)
        self.check_alerts()

    def on_mount(self) -> None:
        from tui.screens.inbox import InboxScreen

        after = self.ctx.store.last_change()  # before any screen reads the store
        self.push_screen(InboxScreen())
        self.run_worker(self._follow_changes(after), name="changes", group="changes", exit_on_error=False)
        if self._pump_events:
            self.run_worker(self.engine.pump.run(), name="events", group="events", exit_on_error=False)
        self.run_worker(self._resume_outbox(), name="outbox", group="send", exit_on_error=False)
        if self._cli_socket is not None:
            self.run_worker(self._cli_socket.serve(), name="cli-socket", group="socket", exit_on_error=False)
        self.ctx.backend.watch(self._hub_news)  # team mode
        # At app level, so alerts fire whatever screen is shown. The watch reads the store once the
        # inbox has (start_alerts), so as not to share the CPU with its first paint; at the latest
        # after ALERTS_LATEST seconds.
        self.set_timer(ALERTS_LATEST, self.start_alerts)
        self.set_interval(tick_seconds(self.ctx.clock), self.check_alerts)

    async def _resume_outbox(self) -> None:
        for conversation, message, choice in await self.outbox.resumable():
            self._deliver(conversation, message, choice)

    async def ingest(self, event: Event) -> str | None:
        """Apply one backend event (tests feed events through here); returns once it is durable."""
        return await self.engine.pump.apply(event)

    def _announce(self, event: Event, changed: str | None) -> None:
        """A message WhatsApp accepted and later could not deliver (a `failed` status webhook):
        the agent hears it at once, once (a duplicate webhook changes nothing and says nothing)."""
        if not changed or not isinstance(event, StatusChanged) or event.status is not MessageStatus.FAILED:
            return
        conversation = self.ctx.store.conversation(changed)
        who = display_name(conversation.customer.name, 40) if conversation else "a customer"
        self.notify(
            event.error_text or "WhatsApp gave no reason.",
            title=f"Not delivered to {who}",
            severity="error",
            timeout=30,
            markup=False,
        )

    def _hub_news(self, news: News) -> None:
        self.post_message(HubNews(news))  # from the hub store's thread: post_message is thread-safe

    def on_hub_news(self, event: HubNews) -> None:
        """Team mode: the link's changes and the hub's sentences are told; every screen redraws
        its team line (tui.shared.hub_line)."""
        news = event.news
        if isinstance(news, LinkState):
            if news.link is Link.OFFLINE:
                self.notify(news.sentence, title="Offline", severity="warning", timeout=30, markup=False)
            elif news.link is Link.REFUSED:
                self.notify(news.sentence, title="The hub refused this desk", severity="error", timeout=24 * 3600, markup=False)
        elif isinstance(news, Said):
            self.notify(news.sentence, title="Hub", timeout=10, markup=False)
        for screen in self.screen_stack:
            refresh = getattr(screen, "show_hub_line", None)
            if refresh is not None:
                refresh()

    def refuse_unlinked(self) -> None:
        """Sends are refused while the hub cannot be reached or refused this desk: never queued
        behind the agent's back (the composer keeps the text)."""
        link = self.ctx.backend.link
        if link is not None and link.link is not Link.ONLINE:
            raise NotSent(link.sentence)

    # --- alerts -------------------------------------------------------------------------------------
    def start_alerts(self) -> None:
        """Start the alerts' watch (reading ~10k conversations at 100k in a thread); once."""
        if not self._alerts_started:
            self._alerts_started = True
            self.run_worker(self.alerts.start(), name="alerts", group="alerts", exit_on_error=False)

    def check_alerts(self) -> None:
        """Tell the agent of each line crossed since the last check (desk.alerts), once each: a
        notification each while few are on screen, then one saying there are more (the demo's
        first start, a backlog of webhooks: a wall of notifications would hide the desk; the
        rows stay marked), and the bell with them."""
        told = self.alerts.due()
        if not told:
            return
        now = time.monotonic()
        shown = self._alert_toasts
        while shown and now - shown[0] > ALERT_SECONDS:
            shown.popleft()
        said = False
        for alert in told:
            if len(shown) < ALERTS_SHOWN:
                shown.append(now)
                self._tell_alert(alert)
                said = True
            elif now - self._more_alerts_at > ALERT_SECONDS:
                self._more_alerts_at = now
                self.notify("More conversations crossed a line: their rows are marked ! in the inbox.",
                            title="More alerts", severity="warning", timeout=ALERT_SECONDS, markup=False)
                said = True
        if said and self.ctx.config.alerts.bell:
            self.bell()  # with what is said: a burst rings as often as it is told, not once per alert
        for alert in told:
            self._run_alert_command(alert)
        ids = frozenset(a.conversation_id for a in told)
        for screen in self.screen_stack:
            screen.post_message(AlertsTold(ids))

    def _tell_alert(self, alert: Alert) -> None:
        name = display_name(alert.customer, 40)
        due = local_time(alert.due, self.ctx.zone, self.ctx.clock.now())
        severity: SeverityLevel = "error" if alert.kind is AlertKind.BREACHED else "warning"
        sentence = f"{alert.words().capitalize()} ({ALERT_DUE[alert.kind]} {due})."
        self.notify(sentence, title=name, severity=severity, timeout=ALERT_SECONDS, markup=False)

    def _run_alert_command(self, alert: Alert) -> None:
        command = self.alerts.command
        if command is not None:
            async def run() -> None:
                failure = await command.run(alert)
                if failure is not None:
                    self.notify(failure, title="Alert command", severity="error", timeout=20, markup=False)

            self.run_worker(run(), name="alert-command", group="alerts", exit_on_error=False)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification, from any screen or widget (theirs call this one), is plain text:
        customer names, captions and WhatsApp's quoted errors reach titles and messages. `markup`
        is accepted for Textual's signature and ignored."""
        super().notify(safe(message), title=display_name(title, 80), severity=severity, timeout=timeout, markup=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.worker_failed(event)

    def worker_failed(self, event: Worker.StateChanged) -> None:
        """Worker failures are handled in one place, for the app and every screen (tui.screens.base
        forwards theirs: Textual does not bubble this message): logged with the traceback, and told
        to the agent in a sentence."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.report_failure(WORKER_JOBS.get(event.worker.group, "A background task"), event.worker.error)

    def report_failure(self, job: str, error: BaseException) -> None:
        """`job` failed: the log gets the traceback, the agent a sentence."""
        log.error("%s failed", job, exc_info=error)
        self.notify(
            f"{job} failed: {error_sentence(error)} The details are in the log.",
            title="Something went wrong",
            severity="error",
            timeout=10,
            markup=False,
        )

    async def action_quit(self) -> None:
        await self.ctx.backend.stop()
        self.exit()

    def on_unmount(self) -> None:
        if self._cli_socket is not None:  # its worker may be cancelled before it cleans up
            self._cli_socket.remove()
        self.engine.close()

    # --- sending (used by the conversation screen) ------------------------------------------------
    async def send_text(
        self, conversation: Conversation, text: str, replaces: str | None = None, reply_to: str | None = None
    ) -> Message:
        """Record the text durably, then send it in the background. Returns the queued message."""
        self.refuse_unlinked()
        message = await self.outbox.queue_text(conversation, text, replaces, reply_to)
        self._deliver(conversation, message, None)
        return message

    async def send_reaction(self, conversation: Conversation, message_id: str, emoji: str) -> Message:
        """Record our reaction durably, then send it in the background."""
        self.refuse_unlinked()
        message = await self.outbox.queue_reaction(conversation, message_id, emoji)
        self._deliver(conversation, message, None)
        return message

    async def send_file(self, conversation: Conversation, path: Path, caption: str) -> Message:
        self.refuse_unlinked()
        message = await self.outbox.queue_file(conversation, path, caption)
        self._deliver(conversation, message, None)
        return message

    async def send_template(self, conversation: Conversation, choice: TemplateChoice) -> Message:
        self.refuse_unlinked()
        message = await self.outbox.queue_template(conversation, choice)
        self._deliver(conversation, message, choice)
        return message

    async def retry(self, conversation: Conversation, message: Message, choice: TemplateChoice | None) -> None:
        """The agent asked to send a FAILED or UNKNOWN message again."""
        assert message.status in RETRYABLE
        message = await self.outbox.resend(message)
        self._deliver(conversation, message, choice)

    def _deliver(self, conversation: Conversation, message: Message, choice: TemplateChoice | None) -> None:
        async def deliver() -> None:
            result = await self.outbox.deliver(conversation, message, choice)
            if result.error_code in AUTH_CODES:
                # Nothing will send until an admin acts: say so where it cannot be missed.
                self.notify(
                    f"{result.error_text} Until then no message can be sent.",
                    title="WhatsApp refused the desk's credentials",
                    severity="error",
                    timeout=24 * 3600,
                    markup=False,
                )
            elif result.status is MessageStatus.FAILED:
                self.notify(
                    result.error_text or "Not sent.",
                    title=f"Not sent to {display_name(conversation.customer.name, 40)}",
                    severity="error",
                    markup=False,
                )
            elif result.status is MessageStatus.UNKNOWN:
                self.notify(result.error_text or "", title="Outcome unknown", severity="warning", markup=False)

        self.run_worker(deliver(), name="send", group="send", exit_on_error=False)

    async def mark_read(self, conversation: Conversation, seen: Message | None) -> None:
        """The agent has the conversation on screen, up to `seen` (the newest customer message
        shown): a message that arrives meanwhile stays unread."""
        if conversation.unread or conversation.undelivered:
            await self.engine.writer.mark_read(conversation.id, seen.timestamp if seen else None)
        if seen and Capability.MARK_READ in self.ctx.backend.capabilities:
            await self.ctx.backend.mark_read(conversation.business_number_id, seen.id)

    # --- tabs ---------------------------------------------------------------------------------------
    def open_conversation(self, conversation_id: str) -> None:
        """Show the conversation in its tab (a new one unless it has one), in place of the
        conversation shown, or over the inbox."""
        from tui.screens.conversation import ConversationScreen

        if self.tabs.open(conversation_id):
            self._save_tabs()
        screen = ConversationScreen(conversation_id)
        if isinstance(self.screen, ConversationScreen):
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def _shown(self) -> str | None:
        return getattr(self.screen, "conversation_id", None)

    def action_step_tab(self, by: int) -> None:
        target = self.tabs.step(self._shown(), by)
        if target is not None:
            self.open_conversation(target)

    def action_go_tab(self, n: int) -> None:
        if n <= len(self.tabs.ids):
            self.open_conversation(self.tabs.ids[n - 1])

    def action_close_tab(self) -> None:
        shown = self._shown()
        if shown is None:
            return
        after = self.tabs.close(shown)
        self._save_tabs()
        if after is not None:
            self.open_conversation(after)
        else:
            self.pop_screen()  # back to the inbox

    def _save_tabs(self) -> None:
        ids = list(self.tabs.ids)
        self.run_worker(self.engine.writer.save_tabs(ids), name="tabs", group="tabs", exit_on_error=False)
        self.show_tabs()

    def show_tabs(self) -> None:
        for screen in self.screen_stack:
            for bar in screen.query(TabBar):
                bar.show_tabs(self.tabs.ids, getattr(screen, "conversation_id", None), self.ctx.store.conversation)

    # --- command palette ----------------------------------------------------------------------------
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The screen's own actions first, then Textual's (theme, keys, quit...)."""
        commands = getattr(screen, "palette_commands", None)
        if commands is not None:
            yield from commands()
        yield from super().get_system_commands(screen)
