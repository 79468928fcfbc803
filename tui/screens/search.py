"""Message search: what `Store.search` finds for the query (every message, caption, file name,
note, name and number), newest first, each with its customer, its time and its context; enter
opens the conversation at that message, highlighted.

Reached from the inbox with ctrl+f (the text of its search box, if any, is the query). Searching
runs in a worker: the store answers from its index (milliseconds), or, while the index cannot,
by reading every conversation (seconds), and the screen never waits for it.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from desk.store.contract import SearchHit
from desk.text import display_name, safe
from tui.labels import local_time
from tui.screens.base import DeskScreen

NAME = 30
"""Characters of a customer's name on a result's first line."""
INDENT = 18
"""Where a result's name and context begin: after its time."""


class SearchScreen(DeskScreen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back", tooltip="Back to the inbox.", id="search.back"),
        Binding("enter", "open", "Open", tooltip="Open the conversation at the message under the cursor.", id="search.open"),
        Binding("slash", "edit", "Search", tooltip="Edit the query.", id="search.edit"),
        Binding("question_mark", "help", "Help", tooltip="Show every key of this screen.", id="search.help"),
    ]

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.query_text = query
        self.hits: list[SearchHit] = []

    def compose(self) -> ComposeResult:
        yield Input(self.query_text, placeholder="find messages, captions, file names, notes, names, numbers", id="search-query")
        yield Static(id="search-bar")
        yield OptionList(id="search-results")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        if self.query_text.strip():
            self._run(self.query_text)
            self.query_one(OptionList).focus()
        else:
            self._say("Type words to find, then enter.")
            self.query_one(Input).focus()

    @property
    def results(self) -> OptionList:
        return self.query_one(OptionList)

    def _say(self, sentence: str) -> None:
        self.query_one("#search-bar", Static).update(Text(" " + sentence))

    # --- searching ------------------------------------------------------------------------------------
    @on(Input.Submitted, "#search-query")
    def _submitted(self, event: Input.Submitted) -> None:
        self.query_text = event.value
        if event.value.strip():
            self._run(event.value)
            self.results.focus()

    def _run(self, query: str) -> None:
        self._say("searching…")
        self._search(query)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _search(self, query: str) -> None:
        hits = self.ctx.store.search(query)
        self.app.call_from_thread(self._found, query, hits)

    def _found(self, query: str, hits: list[SearchHit]) -> None:
        if query != self.query_text:
            return  # an older query's answer
        self.hits = hits
        self.results.clear_options()
        self.results.add_options(Option(self._row(hit), id=str(i)) for i, hit in enumerate(hits))
        if hits:
            self.results.highlighted = 0
        count = f"{len(hits)} found" if hits else "Nothing found"
        quoted = display_name(query.strip(), 60)
        pending = next((f.sentence for f in self.ctx.store.faults() if f.kind == "search"), None)
        hint = ": enter opens the conversation at the message" if hits else ""
        self._say(f"{count} for “{quoted}”{hint}" + (f" ({safe(pending)})" if pending else ""))

    def _row(self, hit: SearchHit) -> Text:
        """Two lines: when, who (and the department), then the context with the words found
        marked. Customer text only ever as plain text, made safe piece by piece."""
        ctx = self.ctx
        conversation = ctx.store.conversation(hit.conversation_id)
        name = display_name(conversation.customer.name, NAME) if conversation else hit.conversation_id
        department = ctx.number(conversation.business_number_id).department if conversation else ""
        when = local_time(hit.timestamp, ctx.zone, ctx.clock.now()) if hit.timestamp else ""
        row = Text(no_wrap=True, overflow="ellipsis")
        row.append(f"{when:>{INDENT - 2}}  ", "dim")
        row.append(name, "bold")
        if department:
            row.append(f"  {safe(department)}", "dim")
        row.append("\n" + " " * INDENT)
        label = "customer: " if hit.message_id is None else ""
        row.append(label, "dim italic")
        # One line: the snippet cut to the list's width (a prompt would wrap), its marks with it.
        room = max((self.results.scrollable_content_region.width or self.app.size.width) - INDENT - len(label) - 1, 10)
        snippet = hit.snippet if len(hit.snippet) <= room else hit.snippet[: room - 1] + "…"
        position = 0
        for start, end in hit.marks:
            if start >= len(snippet) - 1:
                break
            row.append(safe(snippet[position:start]))
            row.append(safe(snippet[start:end]), "bold underline")
            position = end
        row.append(safe(snippet[position:]))
        return row

    # --- actions --------------------------------------------------------------------------------------
    @on(OptionList.OptionSelected, "#search-results")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._open(int(event.option.id or 0))

    def action_open(self) -> None:
        index = self.results.highlighted
        if index is not None and self.hits:
            self._open(index)

    def _open(self, index: int) -> None:
        from tui.screens.conversation import ConversationScreen

        hit = self.hits[index]
        self.app.push_screen(ConversationScreen(hit.conversation_id, at_message=hit.message_id))

    def action_edit(self) -> None:
        self.query_one(Input).focus()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, describe_keys

        self.app.push_screen(HelpScreen("search", describe_keys(self)))

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Search: edit the query", "Change the words to find", self.action_edit)
        yield SystemCommand("Search: back to the inbox", "Leave the results", self.action_back)
