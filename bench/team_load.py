"""The team bench's load generator, a process of its own (so that its CPU never delays the event
clients' reading in bench/team.py's process):

    python bench/team_load.py OUT.json --urls URL[,URL] --rate R --seconds S [--connections C]
                              [--customers K] [--seed N]

R x S signed one-message bodies (receiver_bodies.make_bodies: Meta's shapes, ~1 KB, K customers on
two business numbers), body i due at t0 + i / R (an open loop: a slow answer delays only its own
connection) and given to URL number i % len(URLs), as a round-robin load balancer would; C keep-
alive connections split between the URLs, one request in flight each, written by hand on asyncio
streams (receiver_clients.RawConnection: the client's CPU stays small beside the servers').
Bodies and signatures are made before the clock starts. OUT.json gets, per body: when it was due,
sent and answered (wall clock, time.time()), its status (0: the connection failed, it is opened
again; -1: not sent, still waiting for a connection LATE s after the blast's end), its conversation,
its message's wamid and its dedupe key (sha256, hex).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import time
from pathlib import Path

import orjson
from receiver_bodies import APP_SECRET, make_bodies
from receiver_clients import RawConnection

from emulator.encode import signature

NOT_SENT = -1
"""The status of a body still unsent LATE seconds after the blast's end (the servers fell behind)."""
LATE = 1.0


def conversation_of(body: bytes) -> str:
    value = orjson.loads(body)["entry"][0]["changes"][0]["value"]
    return f"{value['metadata']['phone_number_id']}~{value['messages'][0]['from']}"


async def blast(urls: list[str], bodies: list[bytes], rate: float, connections: int) -> dict[str, list]:
    sigs = [signature(b, APP_SECRET) for b in bodies]
    n = len(bodies)
    due, sent, answered, status = [0.0] * n, [0.0] * n, [0.0] * n, [0] * n
    lanes = [iter(range(k, n, len(urls))) for k in range(len(urls))]  # shared per URL: each index once
    per_url = max(1, connections // len(urls))
    pool = [(k, RawConnection(url)) for k, url in enumerate(urls) for _ in range(per_url)]
    warm = await asyncio.gather(*(c.handshake() for _, c in pool))  # opens every connection
    assert all(warm), warm
    t0_wall, t0 = time.time() + 0.05, time.perf_counter() + 0.05

    end = t0 + n / rate + LATE

    async def worker(k: int, connection: RawConnection) -> None:
        for i in lanes[k]:
            if time.perf_counter() > end:  # the blast is over: what is left was never sent
                status[i] = NOT_SENT
                continue
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            due[i] = t0_wall + i / rate
            sent[i] = time.time()
            try:
                status[i] = await connection.post(bodies[i], sigs[i])
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                status[i] = 0
                await connection.aclose()
                connection = RawConnection(urls[k])
            answered[i] = time.time()
        await connection.aclose()

    await asyncio.gather(*(worker(k, c) for k, c in pool))
    return {"due": due, "sent": sent, "answered": answered, "status": status}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--urls", required=True)
    p.add_argument("--rate", type=float, required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--customers", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    urls = args.urls.split(",")
    wamids, bodies = make_bodies(int(args.rate * args.seconds), args.customers, seed=args.seed)
    result = asyncio.run(blast(urls, bodies, args.rate, args.connections))
    result["conversation"] = [conversation_of(b) for b in bodies]
    result["key"] = [hashlib.sha256(b).hexdigest() for b in bodies]
    result["wamid"] = wamids
    args.out.write_bytes(orjson.dumps(result))
    print(f"sent {len(bodies)}", flush=True)


if __name__ == "__main__":
    main()
