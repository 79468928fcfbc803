"""What the mock remembers of each conversation, and the messages written in them.

A `Thread` keeps what the window rule and quoting need (the customer's latest message, the latest
of each side to quote). `Threads` holds them all and writes the messages, a customer's or one of
ours, with WhatsApp-looking ids numbered from one serial, so that the history of a first start and
the live trickle after it never give the same id twice, across restarts too (the serial is saved).
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from backends.errors import describe
from backends.mock.people import Person
from desk.contacts import handle
from desk.models import Direction, Media, Message, MessageStatus, Referral, conversation_id
from desk.pricing import EntryPoint, expected_pricing, service_cost


@dataclass
class Thread:
    """What the mock remembers of one conversation: enough for the window rule and for quoting."""

    number_id: str
    customer_id: str
    last_inbound: datetime | None = None
    last_in: str | None = None
    last_out: str | None = None
    entry: EntryPoint = EntryPoint()
    """The free entry point state (desk.pricing): what the pricing of our sends depends on."""


class Threads:
    """Every conversation the mock knows, keyed by conversation id, and the writer of their messages.

    `serial` counts the wamids given out (saved in the mock's state, so a restart goes on from it);
    `people` are the customers a shared contact card can name.
    """

    def __init__(self, seed: int, people: list[Person], serial: int = 0) -> None:
        self.seed = seed
        self.people = people
        self.serial = serial
        self.by_key: dict[str, Thread] = {}

    def get(self, business_number_id: str, customer_id: str) -> Thread | None:
        """The conversation's record, or None when the mock has none."""
        return self.by_key.get(conversation_id(business_number_id, customer_id))

    def open(self, business_number_id: str, customer_id: str) -> Thread:
        """The conversation's record, made empty the first time it is asked for."""
        key = conversation_id(business_number_id, customer_id)
        if key not in self.by_key:
            self.by_key[key] = Thread(business_number_id, customer_id)
        return self.by_key[key]

    def wamid(self, customer_id: str) -> str:
        """A WhatsApp-looking message id: "wamid.HBgL" + base64 of the recipient and a unique tag."""
        self.serial += 1
        tag = hashlib.sha256(f"{self.seed}:{self.serial}".encode()).hexdigest()[:18].upper()
        raw = customer_id.encode() + b"\x15\x02\x00\x11\x18\x12" + tag.encode()
        return "wamid.HBgL" + base64.b64encode(raw).decode().rstrip("=")

    def inbound(self, rng: random.Random, thread: Thread, person: Person, at: datetime, kind: str,
                topic: str, quote: str | None, referral: Referral | None = None) -> Message:
        """A customer's message of `kind`; it moves the window and becomes the latest to quote.
        With a `referral`, the customer came from that click-to-WhatsApp ad."""
        wamid = self.wamid(person.id)
        fields: dict[str, Any] = {"type": kind, "text": person.lines.get(topic, "")}
        if kind == "image":
            caption = person.lines["damaged"]
            fields.update(text=caption, media=_media(rng, "image", "image/jpeg", 3_500_000, caption=caption))
        elif kind == "document":
            name = f"invoice_{person.order_id.lstrip('#')}.pdf"
            fields.update(text=name, media=_media(rng, "document", "application/pdf", 900_000, filename=name))
        elif kind == "audio":
            fields.update(text="Audio", media=_media(rng, "audio", "audio/mpeg", 2_000_000))
        elif kind == "voice":
            fields.update(text="Voice message", media=_media(rng, "voice", "audio/ogg; codecs=opus", 120_000))
        elif kind == "location":
            fields.update(text=f"Location: {person.place.name}", location=person.place)
        elif kind == "contacts":
            others = [p for p in self.people if p.customer.phone and p.id != person.id]
            other = others[rng.randrange(len(others))].customer
            fields.update(text=f"Contact: {other.name}", contacts=(f"{other.name} {handle(other)}",))
        elif kind == "reaction":
            fields.update(text=rng.choice(("👍", "❤️", "🙏", "😂")), reaction_to=quote)
        elif kind == "reply":
            fields.update(type="text", text=person.lines.get(topic, person.lines["delivery"]), reply_to=quote)
        elif kind == "unsupported":
            # WhatsApp sends what it cannot show as type "unsupported" with error 131051 (section 6.4).
            fields.update(text="Message type unknown", error_code=131051, error_text=describe(131051))
        else:
            fields["type"] = "text"
        thread.last_inbound, thread.last_in = at, wamid
        message = Message(id=wamid, conversation_id=conversation_id(thread.number_id, person.id),
                          direction=Direction.INBOUND, timestamp=at, status=MessageStatus.RECEIVED, referral=referral,
                          **fields)
        thread.entry = thread.entry.after(message)
        return message

    def outbound(self, rng: random.Random, thread: Thread, at: datetime, text: str, status: MessageStatus) -> Message:
        """One of our messages from before the desk started, as WhatsApp last reported it."""
        wamid = self.wamid(thread.customer_id)
        failed = status is MessageStatus.FAILED
        thread.last_out = wamid if not failed else thread.last_out
        pricing = None if failed else expected_pricing(service_cost(thread.last_inbound, thread.entry, at), None)
        message = Message(
            id=wamid, conversation_id=conversation_id(thread.number_id, thread.customer_id),
            direction=Direction.OUTBOUND, type="text", timestamp=at, status=status, text=text, wamid=wamid,
            status_at=at + timedelta(seconds=rng.randrange(2, 240)),
            error_code=131026 if failed else None, error_text=describe(131026) if failed else None, pricing=pricing,
        )
        thread.entry = thread.entry.after(message)
        return message


def whole(at: datetime) -> datetime:
    """WhatsApp's timestamps are whole seconds."""
    return at.replace(microsecond=0)


def _media(rng: random.Random, kind: str, mime_type: str, largest: int, **details: str) -> Media:
    """An inbound attachment as the webhook describes it: WhatsApp's media id, size and checksum."""
    return Media(kind, mime_type, size=rng.randrange(largest // 20, largest), media_id=str(rng.randrange(10**15, 10**16)),
                 sha256=f"{rng.getrandbits(256):064x}", **details)
