"""The inbox: every conversation, the most urgent first, updating live."""

from __future__ import annotations

from collections.abc import Iterable
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from desk.inbox import InboxModel
from desk.urgency import Filter, fold
from tui.messages import ConversationsChanged
from tui.widgets.inbox_list import InboxList

FILTER_KEYS = {"1": Filter.ALL, "2": Filter.WAITING, "3": Filter.BREACHED, "4": Filter.CLOSING, "5": Filter.CLOSED}
FILTER_WORDS = {
    Filter.ALL: "all",
    Filter.WAITING: "waiting on us",
    Filter.BREACHED: "SLA breached",
    Filter.CLOSING: "window closing",
    Filter.CLOSED: "window closed",
}


class InboxScreen(Screen[None]):
    BINDINGS = [
        Binding("enter", "open", "Open", tooltip="Open the conversation under the cursor.", id="inbox.open", show=True),
        Binding("slash", "search", "Search", tooltip="Search names, numbers and message text.", id="inbox.search"),
        Binding("escape", "clear", "Clear", tooltip="Clear the search and the filters.", id="inbox.clear", show=False),
        Binding("1", "filter('all')", "All", tooltip="Show all conversations.", show=False),
        Binding("2", "filter('waiting')", "Waiting", tooltip="Show conversations waiting on us.", show=False),
        Binding("3", "filter('breached')", "Breached", tooltip="Show conversations whose SLA is breached.", show=False),
        Binding("4", "filter('closing')", "Closing", tooltip="Show conversations whose window closes soon.", show=False),
        Binding("5", "filter('closed')", "Closed", tooltip="Show conversations whose window is closed.", show=False),
        Binding("f", "next_filter", "Filter", tooltip="Cycle the filter (1-5 pick one directly).", id="inbox.filter"),
        Binding("d", "next_number", "Dept", tooltip="Cycle the business number (department) shown.", id="inbox.number"),
        Binding("question_mark", "help", "Help", tooltip="Show every key of this screen.", id="inbox.help"),
        Binding("q", "app.quit", "Quit", tooltip="Quit wadesk.", id="inbox.quit"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(id="inbox-bar")
        yield Input(placeholder="search names, numbers, messages (escape to clear)", id="inbox-search", classes="hidden")
        yield InboxList(self.app.ctx.clock.now, id="inbox-list")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        ctx = self.app.ctx
        self.model = InboxModel(ctx.policy, lambda nid: ctx.number(nid).department, ctx.closing_soon)
        self.model.load(ctx.store.conversations(), ctx.clock.now())
        self._show()
        self.query_one(InboxList).focus()
        self.set_interval(1.0, self._tick)

    @property
    def list(self) -> InboxList:
        return self.query_one(InboxList)

    def _show(self) -> None:
        self.list.set_rows(self.model.rows, self.model.index_of)
        self._update_bar()

    def _update_bar(self) -> None:
        now = self.app.ctx.clock.now()
        rows = self.model.rows
        breached = self.model.breached(now)
        number = self.model.business_number_id
        dept = self.app.ctx.number(number).department if number else "all departments"
        bar = Text()
        bar.append(" wadesk ", style="reverse bold")
        bar.append(f" {self.app.ctx.backend.name} · {len(rows)} conversations")
        if breached:
            bar.append(f" · ✖ {breached} breached", style="bold")
        bar.append(f" · filter: {FILTER_WORDS[self.model.filter]} · {dept}")
        if self.model.query:
            bar.append(f" · search: {self.model.query!r}")
        self.query_one("#inbox-bar", Static).update(bar)

    def _tick(self) -> None:
        # Timers count down: repaint the visible rows (only those are drawn). A window that closed
        # moves its row.
        if self.model.rekey_due(self.app.ctx.clock.now()):
            self._show()
            return
        self.list.refresh()
        self._update_bar()

    def on_conversations_changed(self, event: ConversationsChanged) -> None:
        store = self.app.ctx.store
        changed = [c for c in (store.conversation(i) for i in event.conversation_ids) if c is not None]
        self.model.update(changed, self.app.ctx.clock.now())
        self._show()

    # --- actions -----------------------------------------------------------------------------------
    def action_open(self) -> None:
        self.list.action_open()

    @on(InboxList.Opened)
    def _open(self, event: InboxList.Opened) -> None:
        from tui.screens.conversation import ConversationScreen

        self.app.push_screen(ConversationScreen(event.conversation_id))

    def action_search(self) -> None:
        search = self.query_one("#inbox-search", Input)
        search.remove_class("hidden")
        search.focus()

    def action_clear(self) -> None:
        search = self.query_one("#inbox-search", Input)
        search.value = ""
        search.add_class("hidden")
        self.model.set_view(self.app.ctx.clock.now(), filter=Filter.ALL, business_number_id=None, query="", text_hits=frozenset())
        self._show()
        self.list.focus()

    def action_filter(self, name: str) -> None:
        self.model.set_view(self.app.ctx.clock.now(), filter=Filter(name))
        self._show()

    def action_next_filter(self) -> None:
        order = list(Filter)
        self.action_filter(order[(order.index(self.model.filter) + 1) % len(order)].value)

    def action_next_number(self) -> None:
        ids = [None] + [n.id for n in self.app.ctx.numbers()]
        current = ids.index(self.model.business_number_id) if self.model.business_number_id in ids else 0
        self.model.set_view(self.app.ctx.clock.now(), business_number_id=ids[(current + 1) % len(ids)])
        self._show()

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, describe_keys

        self.app.push_screen(HelpScreen("inbox", describe_keys(self)))

    # --- search ------------------------------------------------------------------------------------
    @on(Input.Changed, "#inbox-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.model.set_view(self.app.ctx.clock.now(), query=event.value, text_hits=frozenset())
        self._show()
        if len(event.value.strip()) >= 2:
            self._scan_messages(event.value)

    @on(Input.Submitted, "#inbox-search")
    def _search_done(self) -> None:
        self.list.focus()

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _scan_messages(self, query: str) -> None:
        """Message text lives in the conversation shards: scan them off the UI thread."""
        needle = fold(query.strip())
        store = self.app.ctx.store
        worker = get_current_worker()
        hits = set()
        for conv in self.model.conversations():
            if worker.is_cancelled:
                return
            if any(needle in fold(m.text) for m in store.messages(conv.id)):
                hits.add(conv.id)
        self.app.call_from_thread(self._text_hits, query, frozenset(hits))

    def _text_hits(self, query: str, hits: frozenset[str]) -> None:
        if query == self.model.query and hits:
            self.model.set_view(self.app.ctx.clock.now(), text_hits=hits)
            self._show()

    # --- command palette ---------------------------------------------------------------------------
    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Inbox: search", "Search names, numbers and message text", self.action_search)
        for filter_, words in FILTER_WORDS.items():
            yield SystemCommand(f"Inbox: show {words}", f"Filter the inbox: {words}", lambda f=filter_: self.action_filter(f.value))
        for number in self.app.ctx.numbers():
            yield SystemCommand(
                f"Inbox: only {number.department}",
                f"Show conversations with {number.display}",
                lambda n=number.id: (self.model.set_view(self.app.ctx.clock.now(), business_number_id=n), self._show()),
            )
        yield SystemCommand("Inbox: clear filters", "Show every conversation", self.action_clear)

