"""The emulator's test control: the /_emulator endpoints (JSON, no token; meant for 127.0.0.1),
listed in CONTROL_ENDPOINTS (also shown by `wadesk emulator --help`)."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aiohttp import web

from backends.cloud.jsonload import loads
from backends.errors import describe
from backends.mock.people import TOPICS
from desk.clock import FrozenClock
from desk.models import MessageStatus, StatusChanged
from emulator.encode import webhook_bytes
from emulator.identity import bsuid

if TYPE_CHECKING:
    from emulator.server import Emulator

__all__ = ["CONTROL_ENDPOINTS", "Control"]

CONTROL_ENDPOINTS = """\
control endpoints (JSON, no token; the emulator is meant for 127.0.0.1):
  POST /_emulator/customer_writes  {"phone_number_id", "customer_id" (id, BSUID or +number), "text"?,
                                   "kind"? (text, image, document, voice, audio, location, contacts,
                                   reaction, reply, unsupported), "topic"?}: the customer writes now
                                   (which opens the window) and it is delivered: {"id", "statuses"}
  POST /_emulator/status           {"status": sent | delivered | read | failed, "wamid"? | "phone_number_id"
                                   and "customer_id" (the latest message sent to them), "code"? (failed:
                                   default 131026)}: force a status of one of the desk's messages now
                                   and deliver it: {"wamid", "statuses"}
  POST /_emulator/deliver_raw      {"body": {...} or [...] | "raw": "<exact text>", "signature":
                                   null (valid) | "bad" | "missing" | "<header value>", "times": 1,
                                   "shuffle": false, "seed": 0}: POST copies as they are (not retried)
  POST /_emulator/advance          {"seconds": N}: move a frozen clock (409 on the real clock) and
                                   deliver what is due: {"now", "statuses", "retry_queue"}
  POST /_emulator/flush            retry every queued webhook now
  POST /_emulator/receiver         {"url": ...}: deliver to another receiver (and flush)
  GET  /_emulator/customers        [{"id", "user_id" (the BSUID), "name", "phone", "username", "number_ids"}]
  GET  /_emulator/state            {"now", "clock", "next_due", "retry_queue", "delivered", "refused", ...}

example: curl -s localhost:8788/_emulator/customer_writes -d \\
  '{"phone_number_id": "100000000000001", "customer_id": "+<number from /_emulator/customers>", "text": "hello"}'
"""


class Control:
    """The handlers; the emulator routes to them (emulator/server.py)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    async def advance(self, request: web.Request) -> web.Response:
        emu = self.emu
        body = await _control_json(request)
        seconds = body.get("seconds", 0)
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            return _control_error("seconds must be a number of seconds, 0 or more")
        if not isinstance(emu.clock, FrozenClock):
            return _control_error("the emulator runs on the real clock: it cannot be advanced", 409)
        statuses = await emu.advance(seconds)
        return web.json_response({"now": emu.clock.now().isoformat(), "statuses": statuses,
                                  "retry_queue": len(emu.delivery.queue)})

    async def customer_writes(self, request: web.Request) -> web.Response:
        emu = self.emu
        body = await _control_json(request)
        number_id = body.get("phone_number_id")
        if number_id not in emu.display_numbers:
            return _control_error(f"unknown phone_number_id {number_id!r}; the numbers are {', '.join(emu.display_numbers)}")
        person = emu.person(body.get("customer_id"))
        if person is None:
            return _control_error(f"unknown customer {body.get('customer_id')!r}; see GET /_emulator/customers")
        topic = body.get("topic", "greeting")
        if topic not in TOPICS:
            return _control_error(f"topic must be one of {', '.join(TOPICS)}")
        kind = body.get("kind", "text")
        event = emu.simulation.customer_writes(number_id, person.id, emu.clock.now(), kind, topic)
        text = body.get("text")
        if isinstance(text, str) and event.message.type == "text":
            event = replace(event, message=replace(event.message, text=text))
        statuses = await emu.deliver([event])
        return web.json_response({"id": event.message.id, "timestamp": event.message.timestamp.isoformat(), "statuses": statuses})

    async def status(self, request: web.Request) -> web.Response:
        emu = self.emu
        body = await _control_json(request)
        status = body.get("status")
        if status not in ("sent", "delivered", "read", "failed"):
            return _control_error("status must be one of sent, delivered, read, failed")
        wamid = body.get("wamid")
        if wamid is None:
            pair = (body.get("phone_number_id"), body.get("customer_id"))
            person = emu.person(pair[1])
            wamid = next((w for w, sent_to in reversed(emu.sent.items())
                          if person is not None and sent_to == (pair[0], person.id)), None)
        if wamid not in emu.sent:
            return _control_error("give the wamid of a message sent through this emulator, or the phone_number_id "
                                  "and customer_id it was sent to")
        code = body.get("code", 131026 if status == "failed" else None)
        if code is not None and (status != "failed" or not isinstance(code, int) or isinstance(code, bool)):
            return _control_error("code is a whole number, and only for status failed")
        number_id, customer_id = emu.sent[wamid]
        event = StatusChanged(number_id, customer_id, wamid, MessageStatus(status), emu.clock.now(), code,
                              describe(code) if code is not None else None)
        return web.json_response({"wamid": wamid, "statuses": await emu.deliver([event])})

    async def deliver_raw(self, request: web.Request) -> web.Response:
        emu = self.emu
        body = await _control_json(request)
        if isinstance(body.get("raw"), str):
            bodies = [body["raw"].encode("utf-8")]
        elif isinstance(body.get("body"), (dict, list)):
            items = body["body"] if isinstance(body["body"], list) else [body["body"]]
            bodies = [webhook_bytes(item) for item in items]
        else:
            return _control_error("give the payload as body (an object or a list of them) or raw (a string)")
        times, seed = body.get("times", 1), body.get("seed", 0)
        if not isinstance(times, int) or times < 1 or not isinstance(seed, int):
            return _control_error("times must be a whole number from 1 and seed a whole number")
        copies = [b for b in bodies for _ in range(times)]
        if body.get("shuffle"):
            random.Random(seed).shuffle(copies)
        how = body.get("signature")
        delivery = emu.delivery
        async with emu.lock:
            statuses = []
            for copy in copies:
                header = {None: delivery.signature(copy), "missing": None, "bad": "sha256=" + "0" * 64}.get(how, how)
                statuses.append(await delivery.post(copy, header))
        return web.json_response({"statuses": statuses})

    async def flush(self, request: web.Request) -> web.Response:
        return web.json_response({"statuses": await self.emu.flush()})

    async def receiver(self, request: web.Request) -> web.Response:
        body = await _control_json(request)
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return _control_error("url must be an http(s) URL")
        self.emu.receiver_url = url
        return web.json_response({"receiver_url": url, "statuses": await self.emu.flush()})

    async def customers(self, request: web.Request) -> web.Response:
        simulation = self.emu.simulation
        numbers = [n.id for n in simulation.numbers]
        return web.json_response([
            {
                "id": p.id,
                "user_id": bsuid(p.id, self.emu.waba_id),
                "name": p.customer.name,
                "phone": p.customer.phone,
                "username": p.customer.username,
                "number_ids": [n for n in numbers if simulation.last_inbound(n, p.id) is not None],
            }
            for p in simulation.people
        ])

    async def state(self, request: web.Request) -> web.Response:
        emu = self.emu
        next_due = emu.simulation.next_due()
        return web.json_response({
            "now": emu.clock.now().isoformat(),
            "clock": "frozen" if isinstance(emu.clock, FrozenClock) else "real",
            "next_due": next_due.isoformat() if next_due else None,
            "retry_queue": len(emu.delivery.queue),
            "delivered": emu.delivery.delivered,
            "refused": emu.delivery.refused,
            "receiver_url": emu.receiver_url,
            "window_errors": emu.window_errors,
            "waba_id": emu.waba_id,
            "numbers": emu.display_numbers,
        })


async def _control_json(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = loads(await request.read())
    except ValueError:
        raise web.HTTPBadRequest(text="the body is not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body


def _control_error(sentence: str, status: int = 400) -> web.Response:
    return web.json_response({"error": sentence}, status=status)
