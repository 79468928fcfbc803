"""The webhook receiver in a process of its own (backends/cloud/inlet.py): real signed HTTP over
loopback into a child process, which owns the spool; a child killed is started again and what it
answered 200 is not lost; its log reaches ours; the secrets never reach its command line."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import socket
from pathlib import Path

import httpx
import pytest

from backends.cloud.backend import CloudBackend
from backends.cloud.inlet import ProcessInlet, ThreadInlet
from backends.cloud.receiver import CannotListen
from backends.cloud.spool import read_done
from desk.config import WebhookConfig
from emulator.encode import signature, webhook_bytes, webhook_for
from tests.test_ingest import MOCK, cloud_backend
from tests.test_store_faults import ALICE, inbound

SECRET = "s"  # cloud_backend's app secret


def body(mid: str) -> bytes:
    event = inbound(ALICE, mid, bn=MOCK.numbers[0].id)
    return webhook_bytes(webhook_for([event], waba_id="w", display_numbers={n.id: n.display for n in MOCK.numbers}))


async def post(backend: CloudBackend, mid: str) -> int:
    data = body(mid)
    async with httpx.AsyncClient() as client:
        answer = await client.post(backend.receiver_url, content=data,
                                   headers={"X-Hub-Signature-256": signature(data, SECRET)})
    return answer.status_code


async def next_ids(batches, count: int) -> list[str]:
    ids: list[str] = []
    while len(ids) < count:
        ids.extend(e.message.id for e in await asyncio.wait_for(anext(batches), 20))
    return ids


async def test_the_receiver_runs_in_a_child_process_that_owns_the_spool(tmp_path: Path, clock):
    backend = cloud_backend(tmp_path / "data", clock)
    assert isinstance(backend._inlet, ProcessInlet)  # the default
    await backend.start()
    try:
        child = backend._inlet._child
        assert child is not None and child.pid != os.getpid() and child.returncode is None
        with open(f"/proc/{child.pid}/cmdline", "rb") as f:
            assert b"\x00s\x00" not in f.read() + b"\x00"  # the secrets come in its environment
        assert await post(backend, "a1") == 200
        batches = backend.batches()
        assert await next_ids(batches, 1) == ["a1"]
        following = asyncio.create_task(anext(batches))  # asks past a1: it is done
        assert await backend.drain(10)
        following.cancel()
    finally:
        await backend.stop()
    assert read_done(tmp_path / "data" / "webhooks.done") == 1  # written by the child as it closed
    assert child.returncode == 0


async def test_a_killed_receiver_is_started_again_and_what_it_answered_comes_in(tmp_path: Path, clock, caplog):
    backend = cloud_backend(tmp_path / "data", clock)
    await backend.start()
    try:
        assert await post(backend, "a1") == 200
        batches = backend.batches()
        assert await next_ids(batches, 1) == ["a1"]  # handed over, not done: the consumer has not asked on
        first = backend._inlet._child
        assert first is not None
        os.kill(first.pid, signal.SIGKILL)
        # The new child replays a1 (answered 200, not done): applying it again changes nothing.
        for _ in range(200):
            if backend._inlet._child is not first and backend._inlet.url:
                break
            await asyncio.sleep(0.05)
        assert backend._inlet._child is not first
        assert "the webhook receiver stopped" in caplog.text
        assert await post(backend, "a2") == 200
        assert await next_ids(batches, 2) == ["a1", "a2"]
    finally:
        await backend.stop()


async def test_the_childs_log_comes_into_ours_and_never_onto_the_terminal(tmp_path: Path, clock, caplog, capfd):
    backend = cloud_backend(tmp_path / "data", clock)
    await backend.start()
    try:
        with caplog.at_level(logging.INFO):
            async with httpx.AsyncClient() as client:
                answer = await client.post(backend.receiver_url, content=b"{}",
                                           headers={"X-Hub-Signature-256": "sha256=00"})
            assert answer.status_code == 401
            for _ in range(100):
                if "wrong signature" in caplog.text:
                    break
                await asyncio.sleep(0.02)
    finally:
        await backend.stop()
    assert any(r.name == "backends.cloud.inlet.child" and "wrong signature" in r.getMessage() for r in caplog.records)
    assert "wrong signature" not in capfd.readouterr().err


@pytest.mark.parametrize("process", [True, False])
async def test_a_port_taken_is_said_in_a_sentence_either_way(tmp_path: Path, clock, process: bool):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = taken.getsockname()[1]
        backend = cloud_backend(tmp_path / "data", clock)
        config = dataclasses.replace(backend._config, webhook=WebhookConfig("127.0.0.1", port, "/webhook", process))
        backend = CloudBackend(config, clock, tmp_path / "data", backend._secrets)
        assert isinstance(backend._inlet, ProcessInlet if process else ThreadInlet)
        with pytest.raises(CannotListen) as caught:
            await backend.start()
        assert str(port) in str(caught.value)
        await backend.stop()
    finally:
        taken.close()
