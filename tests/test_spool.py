"""The webhook spool: durable before the 200, replayed after a crash, torn tails ignored."""

import asyncio
import logging

from backends.cloud.spool import Spool, encode


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
        f.write(encode(2, b'{"cut short by a kill"}')[:30])  # killed mid-write: never answered 200
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


async def test_a_changed_byte_in_an_old_record_loses_only_that_record(tmp_path, caplog):
    spool = Spool(tmp_path)
    spool.open()
    bodies = [b'{"object": "whatsapp_business_account", "n": %d}' % i for i in range(300)]
    offsets = []
    for body in bodies:
        offsets.append(spool.path.stat().st_size)
        await spool.append(body)
    spool.done(300)  # long applied
    spool.close()
    size = spool.path.stat().st_size
    data = bytearray(spool.path.read_bytes())
    data[offsets[100] + 30] ^= 0x01  # one byte of record 101's body
    spool.path.write_bytes(bytes(data))

    (tmp_path / "webhooks.done").write_text("0")  # replay everything, as after a lost done file
    with caplog.at_level(logging.WARNING, logger="backends.cloud.spool"):
        again = Spool(tmp_path)
        replayed = again.open()
    assert [body for _, body in replayed] == bodies[:100] + bodies[101:]
    assert [seq for seq, _ in replayed] == list(range(1, 101)) + list(range(102, 301))
    assert f"offset {offsets[100]}" in caplog.text
    assert spool.path.stat().st_size == size  # never cut at damage in the middle
    assert await again.append(b"{}") == 301
    again.close()


async def test_a_damaged_header_resynchronises_at_the_next_record(tmp_path, caplog):
    spool = Spool(tmp_path)
    spool.open()
    for i in range(5):
        await spool.append(b'{"n": %d}' % i)
    spool.close()
    data = bytearray(spool.path.read_bytes())
    record = len(encode(1, b'{"n": 0}'))
    data[record + 9] ^= 0xFF  # the length field of record 2
    spool.path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="backends.cloud.spool"):
        again = Spool(tmp_path)
        assert [seq for seq, _ in again.open()] == [1, 3, 4, 5]
    assert f"offset {record}" in caplog.text
    again.close()


async def test_a_spool_in_the_first_format_is_read_and_converted(tmp_path):
    (tmp_path / "webhooks.spool").write_bytes(b'1 2\n{}\n2 8\n{"a":\n1}\n')
    spool = Spool(tmp_path)
    assert spool.open() == [(1, b"{}"), (2, b'{"a":\n1}')]
    assert await spool.append(b"[]") == 3
    spool.close()
    assert (tmp_path / "webhooks.spool").read_bytes()[:4] == encode(1, b"")[:4]
    again = Spool(tmp_path)
    assert [seq for seq, _ in again.open()] == [1, 2, 3]
    again.close()
