"""The receiver bench's webhooks: signed one-message bodies shaped like Meta's, the marker body,
and the secrets and numbers both ends of the bench share (bench/receiver.py explains the runs)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from seed import COUNTRIES, FIRST, LAST, NUMBERS, sentence

from desk.models import Customer, Direction, Message, MessageReceived, MessageStatus
from emulator.encode import webhook_bytes, webhook_for

APP_SECRET = "bench-app-secret"
VERIFY_TOKEN = "bench-verify-token"
ACCESS_TOKEN = "bench-access-token"
WABA = "102290129340398"
PATH = "/webhook"
DISPLAY = {NUMBERS[0]: "+1 555-0100", NUMBERS[1]: "+1 555-0101"}


def customers(count: int, rng: random.Random) -> list[tuple[str, Customer]]:
    """(business number, customer) for `count` customers, half on each number."""
    out = []
    for i in range(count):
        code, country, digits = COUNTRIES[i % len(COUNTRIES)]
        wa_id = f"{code}{(6_900_000_000 + i * 7919) % 10**digits:0{digits}d}"
        out.append((NUMBERS[i % 2], Customer(wa_id, f"{rng.choice(FIRST)} {rng.choice(LAST)}", "+" + wa_id, None, country)))
    return out


def body_for(number: str, customer: Customer, wamid: str, at: datetime, text: str) -> bytes:
    cid = f"{number}~{customer.id}"
    message = Message(wamid, cid, Direction.INBOUND, "text", at, MessageStatus.RECEIVED, text)
    payload = webhook_for([MessageReceived(number, customer, message)], waba_id=WABA, display_numbers=DISPLAY)
    return webhook_bytes(payload)


def make_bodies(count: int, people: int, seed: int) -> tuple[list[str], list[bytes]]:
    """`count` one-message bodies from `people` customers (each customer's messages in time order);
    the text is sized so that a body is about 1 KB, like Meta's."""
    rng = random.Random(seed)
    who = customers(people, rng)
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=count)
    wamids, bodies = [], []
    for i in range(count):
        number, customer = who[rng.randrange(people)] if i >= people else who[i]
        # Meta's ids are base64 of the sender and a random id: the same length, distinct.
        wamid = f"wamid.HBgM{customer.id}FQIAEhgg{seed:04d}{i:06d}{rng.getrandbits(64):016X}"
        wamids.append(wamid)
        bodies.append(body_for(number, customer, wamid, start + timedelta(seconds=i), sentence(rng, 70, 90)))
    return wamids, bodies


def marker_body(seed: int) -> tuple[str, str, bytes]:
    """The body sent after the last 200: (its conversation id, wamid, body); its customer is new."""
    customer = Customer("999000000001", "Bench Marker", "+999000000001", None, None)
    wamid = f"wamid.MARKER{seed:04d}"
    body = body_for(NUMBERS[0], customer, wamid, datetime.now(timezone.utc), "marker")
    return f"{NUMBERS[0]}~{customer.id}", wamid, body

