"""A file posted to one hub replica can be sent by another (hub/files.py): the API keeps it in
PostgreSQL by the send's key, and a replica that does not have it in its own data directory
sends a copy made from the database; the message's record stays as it was."""

from __future__ import annotations

import base64
import dataclasses
import shutil
from pathlib import Path

import httpx
from psycopg_pool import AsyncConnectionPool

from desk.clock import FrozenClock
from desk.window import window
from hub.api import api_app
from hub.files import SharedFiles
from hub.local import local_services
from tests.hub_helpers import pg_engine, serving

PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


async def test_a_file_posted_to_one_replica_is_sendable_from_another(pg_url: str, tmp_path: Path, clock: FrozenClock) -> None:
    with pg_engine(pg_url, clock, tmp_path / "a") as engine:
        await sent_from_another_replica(engine, pg_url, tmp_path, clock)


async def sent_from_another_replica(engine, pg_url: str, tmp_path: Path, clock: FrozenClock) -> None:
    store = engine.context.store
    pool = AsyncConnectionPool(pg_url, min_size=1, max_size=2, open=False)
    await pool.open()
    try:
        on_a = SharedFiles(pool, tmp_path / "a" / "outgoing")
        services, _ = local_services(engine)
        services = dataclasses.replace(services, dispatch=lambda conversation, message: None, share_file=on_a.keep)
        cid = next(c.id for c in store.conversations() if window(c.last_inbound_at, clock.now()).open)
        async with serving(api_app(services)) as url, httpx.AsyncClient(base_url=url) as client:
            body = {"key": "file-key-0001", "filename": "../../box.png", "caption": "The box", "content": base64.b64encode(PHOTO).decode()}
            answer = await client.post(f"/conversations/{cid}/file", json=body)
        assert answer.status_code == 200, answer.text
        message = next(m for m in store.messages(cid) if m.id == "file-key-0001")
        assert Path(message.media.path).name == "box.png"  # the name only: never a path of the poster's
        shutil.rmtree(tmp_path / "a")  # replica b has none of a's files
        on_b = SharedFiles(pool, tmp_path / "b" / "outgoing")
        sendable = await on_b.local(message)
        assert Path(sendable.media.path).read_bytes() == PHOTO
        assert Path(sendable.media.path).is_relative_to(tmp_path / "b")
        assert dataclasses.replace(sendable, media=message.media) == message
        assert await on_b.local(sendable) is sendable  # here already: as it is
    finally:
        await pool.close()
