"""The inbox: every conversation, the most urgent first, updating live."""

from __future__ import annotations

import functools
import gc
import sys
from collections.abc import Iterable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from desk.clock import real_seconds, tick_seconds
from desk.config import agent_key
from desk.inbox import InboxModel, InboxRow
from desk.text import display_name
from desk.urgency import Filter
from desk.views import Facets, Owner, SavedView
from tui.header import inbox_bar
from tui.messages import AlertsTold, ConversationsChanged
from tui.queue import carry_out
from tui.screens.base import DeskScreen, reports_failure
from tui.screens.facets import FacetsScreen
from tui.screens.queue_menu import QueueChoice, QueueMenu
from tui.shared import hub_line, shared, show_line
from tui.widgets.inbox_list import InboxList
from tui.widgets.tab_bar import TabBar

TIMED_FILTERS = (Filter.BREACHED, Filter.CLOSING, Filter.CLOSED)
"""Filters whose answer changes with the time alone, not only when a conversation changes."""
REFILTER_EVERY = 30.0
"""Seconds of the clock's time between re-evaluations of a timed filter, but at most one a real
second whatever the speed: one costs ~0.1 s at 100k conversations."""
INDEXED_HITS = 2000
"""Messages the search box asks the store for, to keep their conversations in the inbox."""
OWNER_WORDS = {Owner.ALL: "everyone's", Owner.MINE: "mine", Owner.UNASSIGNED: "unassigned"}
FILTER_WORDS = {
    Filter.ALL: "all",
    Filter.WAITING: "waiting on us",
    Filter.BREACHED: "SLA breached",
    Filter.CLOSING: "window closing",
    Filter.CLOSED: "window closed",
}


class InboxScreen(DeskScreen[None]):
    BINDINGS = [
        Binding("enter", "open", "Open", tooltip="Open the conversation under the cursor.", id="inbox.open", show=True),
        Binding("slash", "search", "Search", tooltip="Search names, numbers and message text.", id="inbox.search"),
        Binding("escape", "clear", "Clear", tooltip="Clear the search and the filters.", id="inbox.clear", show=False),
        Binding("ctrl+f", "find_messages", "Find", tooltip="List the messages the search box's words find.", id="inbox.find-messages"),
        Binding("1", "filter('all')", "All", tooltip="Show all conversations.", id="inbox.all", show=False),
        Binding("2", "filter('waiting')", "Waiting", tooltip="Show conversations waiting on us.", id="inbox.waiting", show=False),
        Binding("3", "filter('breached')", "Breached", tooltip="Show conversations whose SLA is breached.", id="inbox.breached", show=False),
        Binding("4", "filter('closing')", "Closing", tooltip="Show conversations whose window closes soon.", id="inbox.closing", show=False),
        Binding("5", "filter('closed')", "Closed", tooltip="Show conversations whose window is closed.", id="inbox.closed", show=False),
        Binding("n", "next", "Next", tooltip="Open the most urgent conversation I may take, and take it.", id="inbox.next"),
        Binding("m", "owner('mine')", "Mine", tooltip="Show my conversations.", id="inbox.mine", show=False),
        Binding("u", "owner('unassigned')", "Unassigned", tooltip="Show conversations nobody owns.", id="inbox.unassigned", show=False),
        Binding("a", "owner('all')", "Everyone's", tooltip="Show everyone's conversations.", id="inbox.everyone", show=False),
        Binding("f", "next_filter", "Filter", tooltip="Cycle the filter (1-5 pick one directly).", id="inbox.filter"),
        Binding("s", "queue", "Status", tooltip="Status, snooze, priority and labels of the conversation under the cursor.", id="inbox.queue", show=False),
        Binding("v", "facets", "Narrow", tooltip="Show only some statuses, priorities, labels or a language.", id="inbox.facets", show=False),
        Binding("d", "next_number", "Dept", tooltip="Cycle the business number (department) shown.", id="inbox.number"),
        Binding("question_mark", "help", "Help", tooltip="Show every key of this screen.", id="inbox.help"),
        Binding("q", "app.quit", "Quit", tooltip="Quit wadesk.", id="inbox.quit"),
    ]

    def compose(self) -> ComposeResult:
        yield Static(id="inbox-bar")
        yield Static(id="hub-line", classes="hidden")  # team mode: offline, or the token refused
        yield Input(placeholder="search names, numbers, messages (escape to clear)", id="inbox-search", classes="hidden")
        yield InboxList(self.ctx.clock.now, id="inbox-list")
        yield TabBar(id="tab-bar")  # above the footer: the screen's first line stays its own
        yield Footer(compact=True)

    def on_mount(self) -> None:
        numbers = self.ctx.numbers()
        self.views = [SavedView.from_config(v, numbers) for v in self.ctx.config.views]
        for i, view in enumerate(self.views):
            if view.key:  # the config's own keys: shown in help under the view's name
                self._bindings.bind(view.key, f"saved_view({i})", f"View: {view.name}", show=False)
        self.model: InboxModel | None = None
        self._pending: set[str] = set()
        """Conversations that changed while the inbox was loading."""
        self._ticks = 0
        self.query_one("#inbox-bar", Static).update(Text(" wadesk  loading conversations…"))
        self.query_one(InboxList).focus()
        self._load()
        # Countdowns move with the clock: faster ticks when it runs fast (--speed).
        clock = self.ctx.clock
        interval = tick_seconds(clock)
        self._refilter_ticks = max(1, round(max(real_seconds(clock, REFILTER_EVERY), 1.0) / interval))
        self.set_interval(interval, self._tick)

    @work(thread=True, group="inbox-load", exit_on_error=False)
    def _load(self) -> None:
        """Build and sort the rows off the UI loop, in two steps: the conversations waiting on us
        (they fill the first screens; ~10% of them), then the rest (~1 s at 100k conversations)."""
        ctx = self.ctx
        model = InboxModel(ctx.policy, lambda nid: ctx.number(nid).department, ctx.closing_soon, agent_key(ctx.config))
        # Fewer GIL hand-offs to an idle UI loop, and no collections while ~1M objects are made
        # (2.7 s to the first rows at 100k without these).
        interval = sys.getswitchinterval()
        sys.setswitchinterval(0.05)
        gc.disable()
        try:
            model.load(ctx.store.waiting_conversations(), ctx.clock.now())
            self.app.call_from_thread(self._loaded, model)
            rest = [c for c in ctx.store.conversations() if c.waiting_since is None]
            rows = model.make_rows(rest, ctx.clock.now())
        finally:
            gc.enable()
            sys.setswitchinterval(interval)
        self.app.call_from_thread(self._loaded_rest, rows)

    def _loaded(self, model: InboxModel) -> None:
        self.model = model
        if self._pending:
            self._apply_changes(self._pending)
            self._pending.clear()
        self._show()

    def _loaded_rest(self, rows: list[InboxRow]) -> None:
        assert self.model is not None  # _loaded was called from the thread before this
        self.model.extend(rows, self.ctx.clock.now())
        self._show()
        self.desk.start_alerts()  # after the inbox's own load: they would share the CPU
        # The rows live as long as the app: keep the collector from walking them again and again
        # (full collections took 230-310 ms at 100k conversations).
        gc.freeze()

    @property
    def list(self) -> InboxList:
        return self.query_one(InboxList)

    def _show(self) -> None:
        assert self.model is not None  # every caller runs once the model is loaded
        self.list.set_rows(self.model.rows, self.model.index_of)
        self._update_bar()

    def _update_bar(self) -> None:
        assert self.model is not None  # every caller runs once the model is loaded
        now = self.ctx.clock.now()
        rows = self.model.rows
        breached = self.model.breached(now)
        number = self.model.business_number_id
        bar = self.query_one("#inbox-bar", Static)
        bar.update(
            inbox_bar(
                backend=self.ctx.backend.name,
                shown=f"{len(rows)} conversation{'' if len(rows) == 1 else 's'}",
                breached=breached,
                owner_words=None if self.model.owner is Owner.ALL else OWNER_WORDS[self.model.owner],
                owned=(self.model.owned(Owner.MINE), self.model.owned(Owner.UNASSIGNED)),
                holding=(self.model.holding(), self.ctx.config.capacity),
                filter_words=" · ".join(w for w in (FILTER_WORDS[self.model.filter], self.model.facets.words()) if w),
                department=self.ctx.number(number).department if number else None,
                query=self.model.query,
                width=bar.content_region.width or self.app.size.width,
            )
        )

    def on_resize(self) -> None:
        if getattr(self, "model", None) is not None:  # (a resize can come before on_mount)
            self._update_bar()  # the bar's labels are chosen for the width

    def _tick(self) -> None:
        # Timers count down: repaint the visible rows (only those are drawn). A window that closed
        # moves its row; a time-dependent filter is re-evaluated every REFILTER_EVERY.
        if self.model is None:
            return
        now = self.ctx.clock.now()
        self._ticks += 1
        timed = self.model.filter in TIMED_FILTERS or bool(self.model.facets.statuses)  # a snooze ends with time
        if timed and self._ticks % self._refilter_ticks == 0:
            self.model.refilter(now)
            self._show()
        elif self.model.rekey_due(now):
            self._show()
        else:
            self.list.refresh()
            self._update_bar()

    def on_conversations_changed(self, event: ConversationsChanged) -> None:
        if self.model is None:
            self._pending.update(event.conversation_ids)
            return
        self._apply_changes(event.conversation_ids)
        self._show()

    def on_alerts_told(self, _: AlertsTold) -> None:
        # The rows alerted stand out at once, and a breach is counted, not at the next tick.
        self.list.refresh()
        if self.model is not None:
            self._update_bar()

    def _apply_changes(self, conversation_ids: Iterable[str]) -> None:
        assert self.model is not None  # every caller runs once the model is loaded
        store = self.ctx.store
        changed = [c for c in (store.conversation(i) for i in conversation_ids) if c is not None]
        self.model.update(changed, self.ctx.clock.now())

    # --- actions -----------------------------------------------------------------------------------
    def on_key(self) -> None:
        # The agent's first key (a move, a filter, a search) is when a conversation is chosen.
        self.list.chosen = True

    def action_open(self) -> None:
        self.list.action_open()

    @on(InboxList.Opened)
    def _open(self, event: InboxList.Opened) -> None:
        self.desk.open_conversation(event.conversation_id)

    def action_search(self) -> None:
        search = self.query_one("#inbox-search", Input)
        search.remove_class("hidden")
        search.focus()

    def action_clear(self) -> None:
        search = self.query_one("#inbox-search", Input)
        search.value = ""
        search.add_class("hidden")
        if self.model is not None:
            self.model.search("", None, self.ctx.clock.now())
            self.model.set_view(
                self.ctx.clock.now(), filter=Filter.ALL, owner=Owner.ALL, business_number_id=None, facets=Facets()
            )
            self._show()
        self.list.focus()

    def action_filter(self, name: str) -> None:
        if self.model is not None:
            self.model.set_view(self.ctx.clock.now(), filter=Filter(name))
            self._show()

    @reports_failure("Taking the next conversation")
    async def action_next(self) -> None:
        if self.model is None:
            return
        capacity = self.ctx.config.capacity
        row = self.model.next_for_me(capacity, self.ctx.clock.now())
        if row is None:
            full = capacity and self.model.holding() >= capacity
            self.notify(
                f"You hold {self.model.holding()} open conversations, your capacity: none of yours is waiting on you."
                if full else "Nothing is waiting on you or on nobody.",
                markup=False,
            )
            return
        conv = row.conversation
        if conv.assignee is None and shared(self.ctx.backend):
            holder = await self.desk.engine.writer.claim(conv.id, self.model.me)  # the hub's database picks one
            if holder != self.model.me:
                self.notify(f"{display_name(holder or 'Another agent', 40)} has this conversation.", severity="warning", markup=False)
                return
        elif conv.assignee is None:
            await self.desk.engine.writer.assign(conv.id, self.model.me)
        self.desk.open_conversation(conv.id)

    def action_queue(self) -> None:
        row = self.list.current
        if row is not None:
            conv = row.conversation
            menu = QueueMenu(display_name(conv.customer.name, 40), conv.labels)
            # The row chosen now, wherever the cursor is when the menu closes.
            self.app.push_screen(menu, functools.partial(self._queue_chosen, conv.id))

    @reports_failure("Changing the conversation")
    async def _queue_chosen(self, conversation_id: str, choice: QueueChoice | None) -> None:
        conv = self.ctx.store.conversation(conversation_id)
        if choice is not None and conv is not None:
            ctx = self.ctx
            said = await carry_out(self.desk.engine.writer, conv, choice, ctx.clock.now(), ctx.zone)
            self.notify(said, markup=False)

    def action_facets(self) -> None:
        if self.model is not None:
            convs = self.model.conversations()
            labels = {label for c in convs for label in c.labels}
            languages = {c.language for c in convs if c.language}
            self.app.push_screen(FacetsScreen(self.model.facets, labels, languages), self._narrow)

    def _narrow(self, facets: Facets | None) -> None:
        if facets is not None and self.model is not None:
            self.model.set_view(self.ctx.clock.now(), facets=facets)
            self._show()

    def action_saved_view(self, index: int) -> None:
        if self.model is not None:
            view = self.views[index]
            self.model.set_view(
                self.ctx.clock.now(), filter=view.filter, owner=view.owner,
                business_number_id=view.business_number_id, facets=view.facets,
            )
            self._show()
            self.notify(f"View: {view.name}", markup=False)

    def action_owner(self, name: str) -> None:
        if self.model is not None:
            self.model.set_view(self.ctx.clock.now(), owner=Owner(name))
            self._show()

    def action_next_filter(self) -> None:
        if self.model is not None:
            order = list(Filter)
            self.action_filter(order[(order.index(self.model.filter) + 1) % len(order)].value)

    def action_next_number(self) -> None:
        if self.model is None:
            return
        ids = [None] + [n.id for n in self.ctx.numbers()]
        current = ids.index(self.model.business_number_id) if self.model.business_number_id in ids else 0
        self._only_number(ids[(current + 1) % len(ids)])

    def _only_number(self, business_number_id: str | None) -> None:
        if self.model is not None:
            self.model.set_view(self.ctx.clock.now(), business_number_id=business_number_id)
            self._show()

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, describe_keys

        self.app.push_screen(HelpScreen("inbox", describe_keys(self)))

    # --- search ------------------------------------------------------------------------------------
    @on(Input.Changed, "#inbox-search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self.model is not None:
            self._search(event.value)

    @on(Input.Submitted, "#inbox-search")
    def _search_done(self) -> None:
        self.list.focus()

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _search(self, query: str) -> None:
        """Off the UI loop: names, numbers and previews first (~0.1 s at 100k once folded), then
        the message text, from the store's search index (milliseconds; it read every
        conversation's file before, 30 s at 100k)."""
        model, worker = self.model, get_current_worker()
        assert model is not None  # started only once the model is loaded
        if not query.strip():
            self.app.call_from_thread(self._found, query, None)
            return
        hits = model.matching(query)
        self.app.call_from_thread(self._found, query, hits)
        if len(query.strip()) < 2:
            return
        more = {hit.conversation_id for hit in self.ctx.store.search(query, limit=INDEXED_HITS)} - hits
        if more and not worker.is_cancelled:
            self.app.call_from_thread(self._found, query, hits | more)

    def action_find_messages(self) -> None:
        from tui.screens.search import SearchScreen

        self.app.push_screen(SearchScreen(self.query_one("#inbox-search", Input).value))

    def _found(self, query: str, hits: frozenset[str] | None) -> None:
        if query == self.query_one("#inbox-search", Input).value and self.model is not None:
            self.model.search(query, hits, self.ctx.clock.now())
            self._show()

    # --- command palette ---------------------------------------------------------------------------
    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Inbox: search", "Search names, numbers and message text", self.action_search)
        yield SystemCommand("Inbox: find messages", "List the messages a search finds", self.action_find_messages)
        for filter_, words in FILTER_WORDS.items():
            yield SystemCommand(f"Inbox: show {words}", f"Filter the inbox: {words}", lambda f=filter_: self.action_filter(f.value))
        for number in self.ctx.numbers():
            yield SystemCommand(
                f"Inbox: only {number.department}",
                f"Show conversations with {number.display}",
                lambda n=number.id: self._only_number(n),
            )
        yield SystemCommand("Inbox: next conversation", "Open the most urgent one I may take, and take it", self.action_next)
        for owner, words in OWNER_WORDS.items():
            yield SystemCommand(f"Inbox: show {words}", f"Whose conversations: {words}", lambda o=owner: self.action_owner(o.value))
        yield SystemCommand("Inbox: clear filters", "Show every conversation", self.action_clear)
        for i, view in enumerate(self.views):
            yield SystemCommand(f"View: {view.name}", "A saved view (config [[views]])", lambda i=i: self.action_saved_view(i))

    def show_hub_line(self) -> None:
        """Team mode: why the hub cannot be reached, or refused this desk (hidden otherwise)."""
        for widget in self.query("#hub-line").results(Static):  # none before the screen is composed
            show_line(widget, hub_line(self.ctx.backend, None))
