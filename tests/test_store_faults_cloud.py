"""The reported case, end to end: the desk on the cloud backend, webhooks over loopback from the
emulator, and one conversation's file truncated under it. Every other customer's webhooks are still
applied, the damaged conversation is rebuilt and gets its new message, and the agent is told once."""

from __future__ import annotations

import httpx

from desk.store.tiny.files import shard_path
from tests.test_cloud_e2e import SIZE, cloud_desk, emulator, start_desk, until  # noqa: F401 - fixtures
from tui.app import WadeskApp


async def test_a_truncated_shard_stops_nobody_and_is_told_once(cloud_desk, emulator, data_dir, monkeypatch):  # noqa: F811
    app = WadeskApp(cloud_desk)
    notes: list[tuple[str, str]] = []
    async with app.run_test(size=SIZE) as pilot:
        await start_desk(pilot, cloud_desk, emulator, templates=False)
        store = cloud_desk.store
        first, second = sorted((c for c in store.conversations() if c.customer.phone), key=lambda c: c.id)[:2]
        path = shard_path(data_dir / "conversations", first.id)
        await app.engine.writer.retry()  # the shards, written lazily, are in their files now
        store._evict(first.id)  # as after the shard cache moved on: the next event reads the file
        path.write_bytes(path.read_bytes()[:60])
        real_notify = app.notify

        def notify(message, **kw):
            notes.append((kw.get("title", ""), message))
            real_notify(message, **kw)

        monkeypatch.setattr(app, "notify", notify)
        async with httpx.AsyncClient(base_url=emulator.url) as client:
            for conv, text in ((first, "first again"), (second, "second again"), (first, "first, once more")):
                answer = await client.post("/_emulator/customer_writes", json={
                    "phone_number_id": conv.business_number_id, "customer_id": conv.customer.id, "text": text,
                })
                assert answer.status_code == 200
        await until(pilot, lambda: store.conversation(second.id).preview == "second again", "the other customer")
        await until(pilot, lambda: store.conversation(first.id).preview == "first, once more", "the damaged one")
        texts = [m.text for m in store.messages(first.id)]
        assert texts[-2:] == ["first again", "first, once more"]
    told = [message for title, message in notes if title == "Store problem"]
    assert len(told) == 1
    assert first.id in told[0] and str(path) in told[0]
    assert path.with_name(path.name + ".damaged-1").exists()
