"""The webhook spool: durable before the 200, replayed after a crash, torn tails ignored."""

import asyncio

from backends.cloud.spool import Spool


async def test_bodies_are_numbered_replayed_until_done_and_group_committed(tmp_path):
    spool = Spool(tmp_path)
    assert spool.open() == []
    seqs = await asyncio.gather(*(spool.append(f'{{"n": {i}}}'.encode()) for i in range(50)))
    assert sorted(seqs) == list(range(1, 51))
    spool.done(20)
    spool.close()

    again = Spool(tmp_path)
    pending = again.open()
    assert [seq for seq, _ in pending] == list(range(21, 51))
    assert pending[0][1] == b'{"n": 20}'
    assert await again.append(b"{}") == 51  # numbering goes on after a restart
    again.close()


async def test_a_torn_last_record_is_dropped(tmp_path):
    spool = Spool(tmp_path)
    spool.open()
    await spool.append(b'{"whole": true}')
    spool.close()
    with open(tmp_path / "webhooks.spool", "ab") as f:
        f.write(b'2 100\n{"cut sho')  # killed mid-write: never answered 200
    again = Spool(tmp_path)
    assert [body for _, body in again.open()] == [b'{"whole": true}']
    assert await again.append(b'{"next": 1}') == 2
    again.close()
    third = Spool(tmp_path)
    assert [body for _, body in third.open()] == [b'{"whole": true}', b'{"next": 1}']
    third.close()


async def test_bodies_with_newlines_and_any_bytes_survive(tmp_path):
    spool = Spool(tmp_path)
    spool.open()
    bodies = [b"a\nb\n", b"", bytes(range(256)), "ελληνικά 👍".encode()]
    for body in bodies:
        await spool.append(body)
    spool.close()
    again = Spool(tmp_path)
    assert [body for _, body in again.open()] == bodies
    again.close()


async def test_a_failed_write_takes_back_its_half_and_later_bodies_survive(tmp_path, monkeypatch):
    import os

    import backends.cloud.spool as spool_module

    spool = Spool(tmp_path)
    spool.open()
    await spool.append(b'{"first": 1}')
    real_write = os.write
    calls = {"n": 0}

    def half_then_full_disk(fd, data):
        calls["n"] += 1
        if calls["n"] == 1:
            real_write(fd, bytes(data[: len(data) // 2]))
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(spool_module.os, "write", half_then_full_disk)
    try:
        await spool.append(b'{"lost": "refused, so Meta retries it"}')
    except OSError:
        pass
    assert await spool.append(b'{"third": 3}') == 2  # acknowledged: it must survive
    monkeypatch.undo()
    spool.close()
    again = Spool(tmp_path)
    assert [body for _, body in again.open()] == [b'{"first": 1}', b'{"third": 3}']
    again.close()
