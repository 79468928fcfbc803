"""The desk's store in hub mode: a mirror of what this agent may see, kept by following the hub.

`open()` reads the conversations (and where the hub's log stands); a thread of its own then
follows the hub's events from there (reconnecting with backoff and Last-Event-ID), reads each
changed conversation again (its summary, transcript and audit log) into the mirror, and announces
it through `changes()` like any store. Reads answer from the mirror and never wait on the network:
a transcript not fetched yet is fetched in the background and announced. Writes are the hub's REST
calls, made from the desk's writer thread; the conversation is read again after each, so the desk
sees its own write at once (the event that follows reads it once more).

The hub owns ingest and the outbox: `apply` is not for a client, and our outgoing messages are
kept here only as an overlay until the hub's own copy (the same id: the idempotency key) arrives.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar

from backends.base import Link, LinkState, News, Presence, Said
from backends.hub.client import Conflict, Detail, HubClient, HubError, NotFound, Offline, Unauthorized
from desk.clock import Clock
from desk.config import ConfigError
from desk.customer import CustomerProfile, customer_profile
from desk.faults import Backoff
from desk.models import BusinessNumber, Conversation, ConversationStatus, Event, Message, MessageStatus, Priority, Template
from desk.quick_replies import QuickReply
from desk.store.audit import AuditEntry
from desk.store.changes import ChangeLog
from desk.store.contract import SEARCH_LIMIT, Change, ChangeKind, SearchHit, Store

log = logging.getLogger(__name__)
T = TypeVar("T")

PRESENCE_SECONDS = 90.0
"""A presence not renewed for this long is gone (a desk that died says no "left"); the desk
renews "viewing" every PRESENCE_RENEW seconds while the conversation is on screen."""
TYPING_SECONDS = 10.0
"""Typing shows for this long after the last keystroke's notice."""
BACKOFF_FIRST, BACKOFF_MOST = 0.5, 30.0
"""Reconnecting to the hub: half a second, doubling to 30 s, so 500 desks do not hammer a hub
that is coming back."""


def offline_sentence(url: str) -> str:
    return f"Offline: cannot reach the hub at {url}; your drafts are kept, nothing is queued."


def refused_sentence(error: HubError) -> str:
    """A revoked or unknown token: the hub's own sentence says why and what to do (hub/agents.py)."""
    return error.sentence


class HubStore(Store):
    def __init__(
        self,
        client: HubClient,
        agent: str,
        *,
        clock: Clock,
        numbers: Callable[[], list[BusinessNumber]] = lambda: [],
    ) -> None:
        """`agent`: this agent's id on the hub (its own presence is not shown to it). `numbers`:
        the business numbers whose templates to mirror."""
        self.client = client
        self.agent = agent
        self._clock = clock
        self._numbers = numbers
        self._lock = threading.RLock()
        self._log = ChangeLog()
        self._seq = 0
        """The last local change number (the hub's are in `_hub_seq`): the mirror announces its
        own changes too (a transcript fetched, an overlay message)."""
        self._hub_seq = 0
        """The last hub event handled: where a reconnect resumes (Last-Event-ID)."""
        self._summaries: dict[str, Conversation] = {}
        self._transcripts: dict[str, list[Message]] = {}
        self._audits: dict[str, list[AuditEntry]] = {}
        self._drafts: dict[str, str] = {}
        self._unsaved_drafts: dict[str, str] = {}
        """Drafts typed while offline: kept here, saved on the hub when it is back."""
        self._overlay: dict[str, dict[str, Message]] = {}
        """Our outgoing messages the hub has no copy of yet, by conversation and id."""
        self._aliases: dict[str, str] = {}
        """The outbox's id of our message -> the hub's, should the hub name its copy otherwise."""
        self._fetching: set[str] = set()
        self._templates: dict[str, tuple[datetime | None, list[Template]]] = {}
        self._quick_replies: list[QuickReply] = []
        self._profiles: dict[str, CustomerProfile] = {}
        self._tabs: list[str] = []
        self._presence: dict[str, dict[str, Presence]] = {}
        self._listeners: list[Callable[[News], None]] = []
        self._state = LinkState(Link.ONLINE)
        self._loaded = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = threading.Event()

    # --- the link ----------------------------------------------------------------------------------
    @property
    def link(self) -> LinkState:
        return self._state

    def watch(self, listener: Callable[[News], None]) -> None:
        self._listeners.append(listener)

    def _tell(self, news: News) -> None:
        for listener in list(self._listeners):
            try:
                listener(news)
            except Exception:  # noqa: BLE001 - a watcher's bug never stops the mirror
                log.exception("a watcher of the hub store failed")

    def _set_link(self, state: LinkState) -> None:
        if state != self._state:
            self._state = state
            log.info("hub link: %s %s", state.link.value, state.sentence)
            self._tell(state)

    def _went_offline(self) -> None:
        self._set_link(LinkState(Link.OFFLINE, offline_sentence(self.client.url)))

    def _refused(self, error: HubError) -> None:
        self._set_link(LinkState(Link.REFUSED, refused_sentence(error)))

    def _guard(self, call: Callable[[], T]) -> T:
        """One REST call from a write: the link state follows what it met."""
        if self._state.link is Link.REFUSED:
            raise Unauthorized(self._state.sentence, status=401, code="unauthorized")
        try:
            return call()
        except Offline:
            self._went_offline()
            raise
        except Unauthorized as exc:
            self._refused(exc)
            raise

    # --- opening and following -------------------------------------------------------------------
    def open(self) -> None:
        """Read what this agent may see; an unreachable hub is no failure (the desk starts offline
        and catches up), a refused token is (a sentence, at start)."""
        self._log.start(0)
        try:
            self.agent = self.client.me().agent
            self._load()
        except Unauthorized as exc:
            raise ConfigError(refused_sentence(exc)) from None
        except Offline:
            self._went_offline()
        self._thread = threading.Thread(target=self._run, name="hub-events", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        """Everything again: summaries, templates, quick replies, tabs (at open and on a resync)."""
        last, conversations = self.client.conversations()
        templates = {}
        for number in self._numbers():
            templates[number.id] = self.client.templates(number.id)
        quick_replies = self.client.quick_replies()
        tabs = self.client.tabs()
        with self._lock:
            self._hub_seq = last
            known = {c.id: c for c in conversations}
            for gone in set(self._summaries) - set(known):
                self._forget(gone)
            self._summaries = known
            self._transcripts.clear()  # stale: read again when next shown
            self._audits.clear()
            self._templates.update(templates)
            self._quick_replies = quick_replies
            self._tabs = tabs
            self._loaded = True

    def close(self) -> None:
        self._stopping.set()
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # its loop closed meanwhile: the follower had ended (a revoked token)
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.client.close()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._task = loop.create_task(self._follow())
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        finally:
            loop.close()

    async def _follow(self) -> None:
        backoff = Backoff(BACKOFF_FIRST, BACKOFF_MOST)
        while not self._stopping.is_set():
            was_offline = self._state.link is Link.OFFLINE
            try:
                if not self._loaded:
                    self._load()
                    self._announce(ChangeKind.RESYNC)
                resumed_from = self._hub_seq

                def opened() -> None:
                    backoff.reset()
                    self._set_link(LinkState(Link.ONLINE))
                    self._save_unsaved_drafts()
                    if was_offline:
                        self._tell(Said(f"Back online: the hub at {self.client.url} is reachable again; catching up from change {resumed_from}."))

                async for item in self.client.events(self._hub_seq, opened):
                    self._handle(item)
            except Unauthorized as exc:
                self._refused(exc)
                return  # nothing more to follow: the desk stops acting
            except Offline:
                self._went_offline()
            except HubError as exc:  # the hub cannot serve now (503, 5xx): as offline, try again
                log.warning("following the hub: %s", exc.sentence)
                self._went_offline()
            except Exception:  # noqa: BLE001 - a bug in one event's handling: log it, reconnect
                log.exception("following the hub failed")
            was_offline = self._state.link is Link.OFFLINE
            await asyncio.sleep(backoff.next())

    def _handle(self, item: Change | Presence) -> None:
        if isinstance(item, Presence):
            self._presence_seen(item)
            return
        if item.kind is ChangeKind.RESYNC:
            self._load()
            with self._lock:
                self._hub_seq = item.seq
            self._announce(ChangeKind.RESYNC)
            self._tell(Said("The hub no longer kept every change since this desk last heard from it: everything was read again."))
            return
        if item.kind is ChangeKind.TEMPLATES and item.business_number_id:
            self._templates[item.business_number_id] = self.client.templates(item.business_number_id)
            self._announce(ChangeKind.TEMPLATES, business_number_id=item.business_number_id, agent=item.agent)
        elif item.conversation_id:
            self._refresh(item.conversation_id, agent=item.agent)
        with self._lock:
            self._hub_seq = item.seq

    # --- the mirror --------------------------------------------------------------------------------
    def _announce(self, kind: ChangeKind, conversation_id: str | None = None, business_number_id: str | None = None,
                  agent: str | None = None) -> None:
        with self._lock:
            self._seq += 1
            self._log.add(self._seq, kind, conversation_id, business_number_id, agent)

    def _forget(self, conversation_id: str) -> None:
        self._summaries.pop(conversation_id, None)
        self._transcripts.pop(conversation_id, None)
        self._audits.pop(conversation_id, None)

    def _refresh(self, conversation_id: str, agent: str | None = None) -> Detail | None:
        """Read the conversation again into the mirror and announce it; None when this agent may
        no longer see it (it is dropped from the mirror)."""
        try:
            detail: Detail | None = self.client.conversation(conversation_id)
        except NotFound:
            detail = None
        except HubError as exc:
            if exc.status != 403:
                raise
            detail = None
        with self._lock:
            if detail is None:
                self._forget(conversation_id)
            else:
                self._summaries[conversation_id] = detail.conversation
                self._transcripts[conversation_id] = detail.messages
                self._audits[conversation_id] = detail.audit
                if conversation_id not in self._unsaved_drafts:
                    self._drafts[conversation_id] = detail.draft
                for presence in detail.presence:
                    self._presence.setdefault(conversation_id, {})[presence.agent] = presence
                overlay = self._overlay.get(conversation_id)
                if overlay:  # the hub's copy wins over ours
                    for message in detail.messages:
                        overlay.pop(message.id, None)
            bn = detail.conversation.business_number_id if detail else None
        self._announce(ChangeKind.CONVERSATION, conversation_id, bn, agent)
        return detail

    def _fetch_later(self, conversation_id: str) -> None:
        """A transcript asked for before it was fetched: fetch it off the reader's thread."""
        with self._lock:
            if conversation_id in self._fetching:
                return
            self._fetching.add(conversation_id)

        def fetch() -> None:
            try:
                self._refresh(conversation_id)
            except Offline:
                self._went_offline()
            except HubError as exc:
                log.warning("fetching %s: %s", conversation_id, exc.sentence)
            finally:
                with self._lock:
                    self._fetching.discard(conversation_id)

        threading.Thread(target=fetch, name="hub-fetch", daemon=True).start()

    def _presence_seen(self, presence: Presence) -> None:
        if presence.agent == self.agent:
            return
        with self._lock:
            here = self._presence.setdefault(presence.conversation_id, {})
            if presence.state == "left":
                here.pop(presence.agent, None)
            else:
                here[presence.agent] = replace(presence, at=presence.at or self._clock.now())
        self._tell(presence)

    def others(self, conversation_id: str) -> list[Presence]:
        """Who else is viewing or typing in the conversation now (typing first), by name."""
        now = self._clock.now()
        with self._lock:
            found = list(self._presence.get(conversation_id, {}).values())
        alive = []
        for p in found:
            age = now - (p.at or now)
            if p.state == "typing" and age > timedelta(seconds=TYPING_SECONDS):
                p = replace(p, state="viewing")
            if age <= timedelta(seconds=PRESENCE_SECONDS):
                alive.append(p)
        return sorted(alive, key=lambda p: (p.state != "typing", p.agent))

    # --- reading -----------------------------------------------------------------------------------
    def conversations(self, *, after: str | None = None, limit: int | None = None) -> list[Conversation]:
        found = list(self._summaries.values())
        if limit is None:
            return found
        ordered = sorted(found, key=lambda c: c.id)
        if after is not None:
            ordered = [c for c in ordered if c.id > after]
        return ordered[:limit]

    def conversation(self, conversation_id: str) -> Conversation | None:
        return self._summaries.get(conversation_id)

    def messages(self, conversation_id: str) -> list[Message]:
        with self._lock:
            fetched = self._transcripts.get(conversation_id)
            overlay = list(self._overlay.get(conversation_id, {}).values())
        if fetched is None:
            if conversation_id in self._summaries:
                self._fetch_later(conversation_id)
            fetched = []
        if not overlay:
            return list(fetched)
        return sorted([*fetched, *overlay], key=lambda m: m.timestamp)

    def queued(self) -> list[Message]:
        """Nothing: the hub runs the outbox, and resumes it after a restart itself."""
        return []

    def last_change(self) -> int:
        return self._log.last

    def changes(self, after: int) -> AsyncIterator[Change]:
        return self._log.follow(after)

    def audit(self, conversation_id: str) -> list[AuditEntry]:
        audit = self._audits.get(conversation_id)
        if audit is None:
            self._fetch_later(conversation_id)
            return []
        return list(audit)

    def search(self, query: str, *, limit: int = SEARCH_LIMIT) -> list[SearchHit]:
        """The hub's index answers (the mirror holds only the transcripts opened): the one read
        that asks the hub, as the agent asked, from the search screen's worker."""
        try:
            return self.client.search(query)[:limit]
        except Offline:
            self._went_offline()
            return []

    def draft(self, conversation_id: str, *, agent: str | None = None) -> str:
        return self._drafts.get(conversation_id, "")

    def tabs(self, agent: str) -> list[str]:
        return list(self._tabs)

    def templates(self, business_number_id: str) -> list[Template]:
        return list(self._templates.get(business_number_id, (None, []))[1])

    def templates_synced_at(self, business_number_id: str) -> datetime | None:
        return self._templates.get(business_number_id, (None, []))[0]

    def quick_replies(self) -> list[QuickReply]:
        return list(self._quick_replies)

    def customer_profile(self, customer_id: str) -> CustomerProfile:
        profile = self._profiles.get(customer_id)
        if profile is not None:
            return profile

        def fetch() -> None:
            try:
                self._profiles[customer_id] = self.client.customer_profile(customer_id)
            except HubError as exc:
                log.warning("reading the profile of %s: %s", customer_id, exc.sentence)
                return
            for c in list(self._summaries.values()):
                if c.customer.id == customer_id:
                    self._announce(ChangeKind.CONVERSATION, c.id, c.business_number_id)

        threading.Thread(target=fetch, name="hub-fetch", daemon=True).start()
        return CustomerProfile()

    # --- writing: the hub's REST calls ---------------------------------------------------------------
    def apply(self, event: Event, *, agent: str | None = None) -> str | None:
        raise NotImplementedError("The hub applies WhatsApp's events itself: a desk on the hub never does.")

    def apply_each(self, events: Sequence[Event], *, agent: str | None = None) -> list[str | None]:
        raise NotImplementedError("The hub applies WhatsApp's events itself: a desk on the hub never does.")

    def _act(self, conversation_id: str, call: Callable[[], T]) -> T:
        """An agent action on one conversation: the call, then the conversation read again."""
        try:
            result = self._guard(call)
        except NotFound:
            raise KeyError(conversation_id) from None
        try:
            self._refresh(conversation_id, agent=self.agent)
        except Offline:
            self._went_offline()
        return result

    def record_outgoing(self, message: Message, *, agent: str | None = None) -> Message:
        """Ours, kept here until the hub's copy arrives (the backend sends it with its id as the key)."""
        with self._lock:
            self._overlay.setdefault(message.conversation_id, {})[message.id] = message
        self._announce(ChangeKind.CONVERSATION, message.conversation_id, None, agent)
        return message

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
        with self._lock:
            ours = self._overlay.get(conversation_id, {}).get(message_id)
            if ours is None:  # the hub's copy is here: it says what happened, not us
                found = self.find(conversation_id, message_id)
                if found is None:
                    raise KeyError(message_id)
                return found
            ours = ours.with_status(status, at, wamid=wamid or ours.wamid, error_code=error_code, error_text=error_text)
            self._overlay[conversation_id][message_id] = ours
        self._announce(ChangeKind.CONVERSATION, conversation_id, None, agent)
        return ours

    def hub_copy(self, conversation_id: str, key: str, message: Message) -> None:
        """The hub's answer to the send of our message `key` (its copy, which should carry the key
        as its id): in the mirror at once, over ours."""
        with self._lock:
            if message.id != key:
                self._aliases[key] = message.id
            transcript = [m for m in self._transcripts.get(conversation_id, []) if m.id != message.id]
            self._transcripts[conversation_id] = sorted([*transcript, message], key=lambda m: m.timestamp)
            self._overlay.get(conversation_id, {}).pop(key, None)
        self._announce(ChangeKind.CONVERSATION, conversation_id, None, self.agent)

    def find(self, conversation_id: str, message_id: str) -> Message | None:
        """Our message `message_id` (the outbox's id), as the hub has it, else as we keep it."""
        with self._lock:
            message_id = self._aliases.get(message_id, message_id)
            for message in self._transcripts.get(conversation_id, []):
                if message.id == message_id:
                    return message
            return self._overlay.get(conversation_id, {}).get(message_id)

    def mark_read(self, conversation_id: str, *, upto: datetime | None = None, agent: str | None = None) -> None:
        """What the desk does by itself on opening a conversation: unreachable or refused, the
        messages stay unread and the team line says why (nothing the agent typed is at stake)."""
        try:
            self._act(conversation_id, lambda: self.client.mark_read(conversation_id, upto))
        except (Offline, Unauthorized):
            pass

    def set_status(self, conversation_id: str, status: ConversationStatus, *, until: datetime | None = None,
                   agent: str | None = None) -> None:
        if until is not None and status is not ConversationStatus.SNOOZED:
            raise ValueError("until is for a snooze only")
        self._act(conversation_id, lambda: self.client.set_status(conversation_id, status, until))

    def set_priority(self, conversation_id: str, priority: Priority, *, agent: str | None = None) -> None:
        self._act(conversation_id, lambda: self.client.set_priority(conversation_id, priority))

    def set_labels(self, conversation_id: str, labels: Iterable[str], *, agent: str | None = None) -> None:
        labels = tuple(labels)
        self._act(conversation_id, lambda: self.client.set_labels(conversation_id, labels))

    def add_note(self, conversation_id: str, text: str, *, agent: str | None = None) -> Message:
        if not text.strip():
            raise ValueError("A note needs some text.")
        return self._act(conversation_id, lambda: self.client.note(conversation_id, text))

    def assign(self, conversation_id: str, assignee: str | None, *, agent: str | None = None) -> None:
        self._act(conversation_id, lambda: self.client.assign(conversation_id, assignee))

    def claim(self, conversation_id: str, agent: str) -> str:
        """Take the conversation for this agent; returns who has it (this agent, or the one who
        took it first: the hub's database picks one)."""
        try:
            return self._act(conversation_id, lambda: self.client.claim(conversation_id))
        except Conflict as lost:
            try:
                self._refresh(conversation_id)
            except HubError:
                pass
            return lost.assignee or "another agent"

    def save_draft(self, conversation_id: str, text: str, *, agent: str | None = None) -> None:
        """Kept here at once; saved on the hub, or, while it cannot be reached, when it is back."""
        with self._lock:
            self._drafts[conversation_id] = text
        try:
            self._guard(lambda: self.client.save_draft(conversation_id, text))
        except (Offline, Unauthorized):  # refused: the desk says why; the text stays, as offline
            with self._lock:
                self._unsaved_drafts[conversation_id] = text
            return
        with self._lock:
            self._unsaved_drafts.pop(conversation_id, None)

    def _save_unsaved_drafts(self) -> None:
        with self._lock:
            waiting = dict(self._unsaved_drafts)
        for conversation_id, text in waiting.items():
            try:
                self.client.save_draft(conversation_id, text)
            except HubError as exc:
                log.warning("saving the draft of %s: %s", conversation_id, exc.sentence)
                continue
            with self._lock:
                if self._unsaved_drafts.get(conversation_id) == text:
                    del self._unsaved_drafts[conversation_id]

    def save_tabs(self, agent: str, conversation_ids: Sequence[str]) -> None:
        ids = list(dict.fromkeys(conversation_ids))
        self._tabs = ids
        try:
            self._guard(lambda: self.client.save_tabs(ids))
        except (Offline, Unauthorized):
            pass  # kept here for this session (refused: the desk says why); a convenience, not a record

    def save_quick_reply(self, shortcut: str, text: str, *, agent: str | None = None) -> QuickReply:
        kept = self._guard(lambda: self.client.save_quick_reply(shortcut, text))
        with self._lock:
            self._quick_replies = sorted([q for q in self._quick_replies if q.shortcut != kept.shortcut] + [kept],
                                         key=lambda q: q.shortcut)
        return kept

    def delete_quick_reply(self, shortcut: str, *, agent: str | None = None) -> bool:
        deleted = self._guard(lambda: self.client.delete_quick_reply(shortcut))
        with self._lock:
            self._quick_replies = [q for q in self._quick_replies if q.shortcut != shortcut.lower()]
        return deleted

    def save_customer_profile(self, customer_id: str, profile: CustomerProfile, *, agent: str | None = None) -> CustomerProfile:
        customer_profile(profile.notes, profile.attributes)  # refused here in the domain's sentence, as every store does
        kept = self._guard(lambda: self.client.save_customer_profile(customer_id, profile))
        self._profiles[customer_id] = kept
        return kept
