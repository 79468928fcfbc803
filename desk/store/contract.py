"""The store's contract: what the app, the backends' ingest and later a team hub rely on.

The embedded implementation is `desk.store.tiny.TinyStore` (TinyDB; layout in docs/storage.md).
A PostgreSQL one for teams will sit beside it. Every write is durable when the call returns,
idempotent where an event can come twice, moves statuses only forward (desk.store.rules decides
what may change), names the agent who acted, and is announced in order by `changes()`. The
promises are held by the contract suite, tests/store_contract/, which every store passes.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from desk import search as find
from desk.customer import CustomerProfile
from desk.models import (
    Conversation,
    ConversationStatus,
    Event,
    Message,
    MessageStatus,
    Priority,
    Template,
)
from desk.quick_replies import QuickReply
from desk.store.audit import AuditEntry

SEARCH_LIMIT = 200
"""Hits `Store.search` returns unless told otherwise."""


def _newest_first(hits: list[SearchHit]) -> list[SearchHit]:
    oldest = datetime.min.replace(tzinfo=timezone.utc)
    return sorted(hits, key=lambda h: h.timestamp or oldest, reverse=True)


class StoreLocked(Exception):
    """Another process owns the data directory."""


@dataclass(frozen=True)
class StoreFault:
    """Something in the store that cannot be read or written now, as the agent and the admin are
    told it: once per fault (its `key`), in `sentence`, which names the conversation and the file."""

    kind: str
    """"damaged" (a file that did not parse, moved aside and rebuilt), "unreadable", "unwritable"
    (its events wait in the journal), "journal" (nothing can be made durable), "index",
    "search" (the search index is being rebuilt, or cannot be written: no data is lost),
    "database" (a shared store's server cannot be reached: nothing was stored)."""
    conversation_id: str | None
    """None when the fault is the whole store's (the journal, the index)."""
    path: Path
    sentence: str

    @property
    def key(self) -> tuple[str, str | None, str]:
        return (self.kind, self.conversation_id, str(self.path))


class ChangeKind(str, enum.Enum):
    CONVERSATION = "conversation"
    """A conversation's summary or transcript changed (a message, a status, read, resolved)."""
    TEMPLATES = "templates"
    """A business number's template catalogue changed."""
    RESYNC = "resync"
    """The consumer asked to resume from further back than the store keeps (or from before a
    restart): it reads everything again, and goes on from this change's number."""


@dataclass(frozen=True, slots=True)
class Change:
    """One change, as `Store.changes()` announces it to every consumer, whoever made it."""

    seq: int
    """Increasing from change to change (with gaps: a store numbers its writes, and some writes
    change nothing a consumer sees), and never given out twice, across restarts too: a consumer
    resumes after the last one it handled."""
    kind: ChangeKind
    conversation_id: str | None = None
    business_number_id: str | None = None
    agent: str | None = None
    """Who acted; None for what WhatsApp, a customer or the store itself (a retry) did."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One thing `Store.search` found: a message, or the customer of a conversation (their name,
    number or username)."""

    conversation_id: str
    message_id: str | None
    """None: the hit is the customer, not one of the messages."""
    timestamp: datetime | None
    """The message's; for a customer, the conversation's last message's."""
    snippet: str
    """The context of the match, one line of the text as written (customer text: hostile)."""
    marks: tuple[tuple[int, int], ...] = ()
    """Where in `snippet` the query's words matched: (start, end) pairs."""


class ConversationUnavailable(Exception):
    """One conversation's file cannot be read now; the rest of the store works."""

    def __init__(self, fault: StoreFault) -> None:
        super().__init__(fault.sentence)
        self.fault = fault


class StoreUnavailable(Exception):
    """Nothing can be made durable now (the journal cannot be written): the event was not stored,
    so whoever holds it (the webhook spool) keeps it and tries again."""

    def __init__(self, fault: StoreFault) -> None:
        super().__init__(fault.sentence)
        self.fault = fault


class Store(ABC):
    """The embedded store: one owner process at a time; calls come from one writer thread, reads
from any thread. A shared store (PostgreSQL) may be opened by several processes at once (hub
replicas), each writing from several threads: every write is correct under that concurrency.

    `agent` on a write is who acted (the configured agent's name); None is WhatsApp, a customer
    or the desk itself. It is kept with the change and announced by `changes()`."""

    @abstractmethod
    def open(self) -> None:
        """Take the lock (or raise StoreLocked), load the index, replay what the journal holds
        beyond it, and turn our messages left SENDING by a crash into UNKNOWN. (A shared store
        takes no lock, and turns into UNKNOWN only what a store instance that is gone left
        SENDING: desk/store/pg.)"""

    @abstractmethod
    def close(self) -> None:
        """Flush and release the lock."""

    # --- reading (cheap: from memory) -----------------------------------------------------------
    @abstractmethod
    def conversations(self, *, after: str | None = None, limit: int | None = None) -> list[Conversation]:
        """Every conversation's summary, in no particular order; or, with `limit` (and `after`,
        the last id of the page before), one page of them in the order of their ids."""

    def waiting_conversations(self) -> list[Conversation]:
        """The conversations whose customer waits for our reply: what the inbox shows first, so
        it can paint them before it has read the rest."""
        return [c for c in self.conversations() if c.waiting_since is not None]

    @abstractmethod
    def conversation(self, conversation_id: str) -> Conversation | None: ...

    @abstractmethod
    def messages(self, conversation_id: str) -> list[Message]:
        """The transcript, oldest first (by timestamp, then arrival)."""

    @abstractmethod
    def queued(self) -> list[Message]:
        """Our messages recorded but never sent (QUEUED), oldest first: the outbox's work after a
        restart. Messages left SENDING by a crash are UNKNOWN, not here: they are never resent."""

    def is_empty(self) -> bool:
        return not self.conversations(limit=1)

    # --- following changes ----------------------------------------------------------------------
    @abstractmethod
    def last_change(self) -> int:
        """The number of the latest change: where a consumer that has just read everything starts."""

    @abstractmethod
    def changes(self, after: int) -> AsyncIterator[Change]:
        """Every change after number `after`, in order, then each one as it is made, by any writer
        of this store; it never ends (the consumer stops iterating). Resuming from further back
        than the store keeps gives one RESYNC change first. Iterate on an event loop; the writes
        may come from any thread."""

    def faults(self) -> list[StoreFault]:
        """What cannot be read or written now (empty when all is well)."""
        return []

    def retry(self) -> set[str]:
        """Write what the store keeps for later (the embedded store writes its shards lazily) and
        try again what a fault held back (events waiting in the journal for their conversation's
        file, a damaged file a reader found, the index); returns the conversations whose fault
        this cleared. The event pump calls it every few seconds."""
        return set()

    # --- searching -------------------------------------------------------------------------------
    def search(self, query: str, *, limit: int = SEARCH_LIMIT) -> list[SearchHit]:
        """Every message (its text, caption, file name; notes too) and every customer (name,
        number, username) that the query's words find (desk.search: each word starts a word of
        it, case and diacritics folded), at most `limit`: customers first, most recent first, then
        messages, newest first. Never raises for what the query holds (quotes, NUL, any length).

        This one reads every conversation (seconds at 10k); a store answers from an index of its
        own, kept on its write path: it finds what was written before the call returned, after a
        restart and a kill too, and after its index was lost or damaged (rebuilt from the data)."""
        query_terms = find.terms(query)
        if not query_terms or limit <= 0:
            return []
        people: list[SearchHit] = []
        found: list[SearchHit] = []
        for conversation in self.conversations():
            text = find.customer_text(conversation.customer)
            if find.matches(find.customer_folded(conversation.customer), query_terms):
                cut = find.snippet(text, query_terms)
                people.append(SearchHit(conversation.id, None, conversation.last_message_at, cut.text, cut.marks))
            for message in self.messages(conversation.id):
                text = find.message_text(message)
                if text and find.matches(find.fold(text), query_terms):
                    cut = find.snippet(text, query_terms)
                    found.append(SearchHit(conversation.id, message.id, message.timestamp, cut.text, cut.marks))
        return (_newest_first(people) + _newest_first(found))[:limit]

    # --- writing (durable when the call returns) ------------------------------------------------
    @abstractmethod
    def apply(self, event: Event, *, agent: str | None = None) -> str | None:
        """Apply a backend event idempotently. Returns the id of the conversation that changed, or
        None when nothing did (a duplicate, a status that would move backwards, templates).

        When it returns, the event is durable, even if its conversation's file cannot be written
        now (it then waits in the journal, `faults()` says so and `retry()` applies it). Raises
        StoreUnavailable when nothing can be made durable: the event must be kept and tried again."""

    def apply_each(self, events: Sequence[Event], *, agent: str | None = None) -> list[str | None]:
        """Apply events in order, as `apply` does each; returns what `apply` would have for each.
        All of them are durable when it returns: a store may make them so with one sync (a group
        commit: the event pump hands over what arrived together). If it raises, none of them
        counts as applied and each may be applied again (apply is idempotent)."""
        return [self.apply(event, agent=agent) for event in events]

    def apply_many(self, events: Iterable[Event], *, agent: str | None = None) -> set[str]:
        """`apply_each`, returning the conversations that changed."""
        return {cid for cid in self.apply_each(list(events), agent=agent) if cid}

    @abstractmethod
    def record_outgoing(self, message: Message, *, agent: str | None = None) -> Message:
        """Put one of our messages in the outbox (status QUEUED), durably, before it is sent."""

    @abstractmethod
    def update_outgoing(
        self,
        conversation_id: str,
        message_id: str,
        status: MessageStatus,
        *,
        at: datetime,
        wamid: str | None = None,
        error_code: int | None = None,
        error_text: str | None = None,
        agent: str | None = None,
    ) -> Message:
        """Record what happened to one of our messages (SENDING, SENT with its wamid, FAILED with
        WhatsApp's code and a sentence, UNKNOWN). A SENT reply stops the conversation's SLA clock."""

    @abstractmethod
    def mark_read(self, conversation_id: str, *, upto: datetime | None = None, agent: str | None = None) -> None:
        """The agent has seen the customer's messages up to `upto` (the newest one on their screen;
        None: every message there is now) and our latest failure: those stop counting as unread.
        The read marker only moves forward (rules.read_upto)."""

    @abstractmethod
    def set_status(
        self,
        conversation_id: str,
        status: ConversationStatus,
        *,
        until: datetime | None = None,
        agent: str | None = None,
    ) -> None:
        """Open, make pending (waiting on the customer), snooze (`until` a time; None: until the
        customer writes) or resolve. The change is stamped no earlier than the conversation's last
        message (rules.status_at); resolving keeps when (`resolved_at`), and reopening what was
        resolved begins a new episode (`opened_at`). A customer's question after it opens the
        conversation again, and its audit log says so. `until` with another status: ValueError."""

    @abstractmethod
    def set_priority(self, conversation_id: str, priority: Priority, *, agent: str | None = None) -> None: ...

    @abstractmethod
    def set_labels(self, conversation_id: str, labels: Iterable[str], *, agent: str | None = None) -> None:
        """Give the conversation exactly these labels, made tidy by rules.labels."""

    @abstractmethod
    def add_note(self, conversation_id: str, text: str, *, agent: str | None = None) -> Message:
        """An internal note, for colleagues: a message of type "note" with status NOTE in the
        transcript, never in the outbox, never sent (no store move takes it elsewhere), and no
        answer to the customer (it stops no SLA clock). Empty text: ValueError."""

    @abstractmethod
    def audit(self, conversation_id: str) -> list[AuditEntry]:
        """Every action on the conversation, oldest first (desk.store.audit): assignment, status
        (snoozes with their time), priority, labels, notes, sends and templates, each with who and
        when, and each reopening by a customer's message."""

    @abstractmethod
    def assign(self, conversation_id: str, assignee: str | None, *, agent: str | None = None) -> None:
        """Give the conversation to `assignee` (an agent id), or to nobody (None); announced as a
        change unless it is theirs already. A customer's messages never change who owns it.

        Every agent action here and below raises KeyError for an unknown conversation, and is
        announced by `changes()` only when it changed something (and only then audited)."""

    @abstractmethod
    def claim(self, conversation_id: str, agent: str) -> str | None:
        """Give the conversation to `agent` only if nobody has it (or `agent` has it already),
        atomically: of two agents claiming it at once, one gets it. Returns who has it afterwards:
        `agent` (won) or another agent's id (lost). Announced and audited (with `agent` as who
        acted) only when it changed; KeyError for an unknown conversation."""

    # --- drafts and templates --------------------------------------------------------------------
    @abstractmethod
    def draft(self, conversation_id: str, *, agent: str | None = None) -> str:
        """What was typed and not sent (`agent`'s, in a shared store; the embedded store keeps
        its one agent's)."""

    @abstractmethod
    def save_draft(self, conversation_id: str, text: str, *, agent: str | None = None) -> None:
        """Keep what the agent typed, durably; an empty text removes the draft. A draft is the
        agent's own, not a change to the conversation: `changes()` does not announce it. (The
        embedded store keeps one draft per conversation, its one agent's; a shared store keys
        drafts by `agent`.)"""

    @abstractmethod
    def tabs(self, agent: str) -> list[str]:
        """The conversations `agent` keeps open as tabs, in their order."""

    @abstractmethod
    def save_tabs(self, agent: str, conversation_ids: Sequence[str]) -> None:
        """Keep `agent`'s tabs (each once, in order), durably; like a draft, the agent's own and
        not announced."""

    @abstractmethod
    def templates(self, business_number_id: str) -> list[Template]: ...

    @abstractmethod
    def templates_synced_at(self, business_number_id: str) -> datetime | None: ...

    # --- quick replies ---------------------------------------------------------------------------------
    @abstractmethod
    def quick_replies(self) -> list[QuickReply]:
        """The quick replies saved in the store, by shortcut. (The desk lays them over the
        config's: desk.quick_replies.library. A shared store keeps one library for the team.)"""

    @abstractmethod
    def save_quick_reply(self, shortcut: str, text: str, *, agent: str | None = None) -> QuickReply:
        """Keep a quick reply, durably, in place of the one with the same shortcut (shortcuts
        compare in lower case); returns it as kept. A shortcut other than letters, digits, - and _,
        or an empty or too long text: ValueError with a sentence (desk.quick_replies.quick_reply).
        Like a draft, the library is no change to a conversation: `changes()` does not announce it."""

    @abstractmethod
    def delete_quick_reply(self, shortcut: str, *, agent: str | None = None) -> bool:
        """Remove the quick reply saved under `shortcut` (in any case), durably; False when the
        store has none (a configured one stays: it is the config's)."""

    # --- what agents know of a customer ----------------------------------------------------------
    @abstractmethod
    def customer_profile(self, customer_id: str) -> CustomerProfile:
        """The agents' notes and custom attributes about the customer (desk.customer), whichever
        business number they write to; an empty profile (no stamp) when nobody has written any."""

    @abstractmethod
    def save_customer_profile(
        self, customer_id: str, profile: CustomerProfile, *, agent: str | None = None
    ) -> CustomerProfile:
        """Keep `profile`'s notes and attributes for the customer, durably, in place of what was
        kept, stamped with the store's time and `agent`; returns it as kept. Notes and attributes
        are kept as the agent typed them (the desk neutralises them where it shows them), checked
        and tidied by desk.customer.customer_profile: ValueError with its sentence, and nothing
        kept, for what is too long or not "key: value". An empty profile removes what was kept; the
        same notes and attributes again change nothing (the stamp stays). Like the quick replies,
        no change to a conversation: `changes()` does not announce it."""
