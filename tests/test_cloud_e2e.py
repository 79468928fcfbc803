"""The app on the cloud backend against the emulator, over real HTTP on loopback.

Both servers (the emulator's Graph API and the desk's webhook receiver) run in the test's event
loop on ephemeral ports of 127.0.0.1; the clock is frozen and the emulator is stepped explicitly.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from backends.cloud.backend import CloudBackend, Secrets
from backends.errors import describe
from desk.config import CloudConfig, CloudNumberConfig, Config, WebhookConfig
from desk.models import Direction, Message, MessageReceived, MessageStatus, StatusChanged
from desk.store.tiny import TinyStore
from desk.window import window
from emulator.encode import signature, webhook_bytes, webhook_for
from emulator.server import Emulator
from engine.context import DeskContext
from tests.conftest import NOW, quiet_config, ready
from tests.test_flows import open_conversation, transcript_text
from tui.app import WadeskApp
from tui.widgets.inbox_list import InboxList

SECRETS = Secrets(access_token="token-for-tests", app_secret="app-secret-for-tests", verify_token="verify-me")
WABA = "waba-e2e"
SIZE = (80, 24)


def cloud_config(emulator: Emulator) -> Config:
    mock = quiet_config().mock
    numbers = tuple(CloudNumberConfig(n.id, n.department, n.display) for n in mock.numbers)
    return dataclasses.replace(
        quiet_config(),
        backend="cloud",
        cloud=CloudConfig(graph_url=emulator.url, waba_id=WABA, numbers=numbers, timeout_seconds=5.0),
        webhook=WebhookConfig(host="127.0.0.1", port=0, path="/webhook"),
    )


@pytest.fixture
async def emulator(clock):
    emulator = Emulator(
        quiet_config().mock, clock, token=SECRETS.access_token, app_secret=SECRETS.app_secret, waba_id=WABA,
        receiver_url=None,
    )
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
def cloud_desk(emulator, clock, data_dir):
    config = cloud_config(emulator)
    store = TinyStore(data_dir, clock=clock)
    store.open()
    desk = DeskContext(config, store, CloudBackend(config, clock, data_dir, SECRETS), clock, data_dir)
    yield desk
    store.close()


async def until(pilot, condition, what: str, limit: int = 2000) -> None:
    """Let the app and both servers run until `condition()` holds (no sleeping: each pause is one
    turn of the event loop, and the loop is bounded)."""
    for _ in range(limit):
        if condition():
            return
        await pilot.pause()
    raise AssertionError(f"never happened: {what}")


async def start_desk(pilot, desk: DeskContext, emulator: Emulator, *, templates: bool = True) -> None:
    """The receiver is up once the app's pump started the backend: point the emulator at it and
    hand over the demo history as webhooks."""
    backend: CloudBackend = desk.backend  # type: ignore[assignment]
    await until(pilot, lambda: backend.receiver_url.startswith("http"), "the receiver to listen")
    emulator.receiver_url = backend.receiver_url
    history = emulator.history_events()
    statuses = await emulator.deliver(history)
    assert set(statuses) == {200}
    expected = sum(1 for e in history if isinstance(e, MessageReceived))
    await until(pilot, lambda: sum(c.message_count for c in desk.store.conversations()) >= expected, "the history")
    if templates:
        await until(pilot, lambda: desk.store.templates(desk.numbers()[0].id), "the templates")
    await ready(pilot)


def free_window(desk):
    return next(
        c for c in sorted(desk.store.conversations(), key=lambda c: c.id)
        if c.waiting_since and window(c.last_inbound_at, NOW).open and c.customer.phone
    )


def closed_window(desk):
    return next(
        c for c in sorted(desk.store.conversations(), key=lambda c: c.id)
        if c.last_inbound_at and not window(c.last_inbound_at, NOW).open and c.customer.phone
    )


async def test_an_inbound_message_appears_in_the_inbox(cloud_desk, emulator):
    async with WadeskApp(cloud_desk).run_test(size=SIZE) as pilot:
        await start_desk(pilot, cloud_desk, emulator)
        conv = closed_window(cloud_desk)
        async with httpx.AsyncClient(base_url=emulator.url) as client:
            answer = await client.post("/_emulator/customer_writes", json={
                "phone_number_id": conv.business_number_id, "customer_id": conv.customer.id, "text": "Hello again!",
            })
        assert answer.status_code == 200
        await until(pilot, lambda: cloud_desk.store.conversation(conv.id).preview == "Hello again!", "the message")
        await ready(pilot)
        rows = pilot.app.screen.query_one(InboxList).rows
        row = next(r for r in rows if r.conversation.id == conv.id)
        assert row.conversation.unread >= 1 and row.window(NOW).open


async def test_a_reply_is_delivered_and_read(cloud_desk, emulator):
    async with WadeskApp(cloud_desk).run_test(size=SIZE) as pilot:
        await start_desk(pilot, cloud_desk, emulator)
        conv = free_window(cloud_desk)
        screen = await open_conversation(pilot, conv.id)
        await pilot.press(*"Looking into it now", "enter")
        await ready(pilot)
        sent = cloud_desk.store.messages(conv.id)[-1]
        assert sent.text == "Looking into it now" and sent.status is MessageStatus.SENT and sent.wamid
        await emulator.advance(120)
        await until(pilot, lambda: cloud_desk.store.messages(conv.id)[-1].status is MessageStatus.READ, "read")
        await pilot.pause()
        assert "✓✓ read" in transcript_text(screen)


async def test_free_text_after_the_window_is_refused_by_the_ui_and_by_whatsapp(cloud_desk, emulator):
    async with WadeskApp(cloud_desk).run_test(size=SIZE) as pilot:
        await start_desk(pilot, cloud_desk, emulator)
        conv = closed_window(cloud_desk)
        screen = await open_conversation(pilot, conv.id)
        assert screen.composer.disabled  # the UI's guard
        before = len(cloud_desk.store.messages(conv.id))
        await pilot.press(*"hi", "enter")
        await ready(pilot)
        assert len(cloud_desk.store.messages(conv.id)) == before
        # The guard bypassed: WhatsApp (the emulator) answers 131047 synchronously ...
        await pilot.app.send_text(conv, "past the guard")
        await ready(pilot)
        failed = cloud_desk.store.messages(conv.id)[-1]
        assert failed.status is MessageStatus.FAILED and failed.error_code == 131047
        # ... or accepts it and fails it by webhook: the same place in the UI.
        emulator.window_errors = "async"
        await pilot.app.send_text(conv, "past the guard, async")
        await ready(pilot)
        await emulator.advance(1)
        await until(
            pilot, lambda: cloud_desk.store.messages(conv.id)[-1].status is MessageStatus.FAILED, "the failed status"
        )
        late = cloud_desk.store.messages(conv.id)[-1]
        assert late.text == "past the guard, async" and late.error_code == 131047
        # The same sentence of ours either way, each followed by what WhatsApp said that time.
        for message in (failed, late):
            assert message.error_text.startswith(describe(131047)) and "WhatsApp: More than 24 hours" in message.error_text


async def test_a_template_with_the_wrong_parameter_count_fails_with_132000(cloud_desk, emulator):
    async with WadeskApp(cloud_desk).run_test(size=SIZE) as pilot:
        await start_desk(pilot, cloud_desk, emulator)
        conv = closed_window(cloud_desk)
        template = next(
            t for t in cloud_desk.store.templates(conv.business_number_id)
            if t.sendable and t.parameter_format == "POSITIONAL" and len(t.parameters()) >= 2
        )
        # The desk's copy is stale: WhatsApp's has one parameter more than the desk sends.
        stale = dataclasses.replace(template, body="Hi {{1}}.", header=None)
        from desk.models import TemplateChoice

        await pilot.app.send_template(conv, TemplateChoice(stale, {"1": "Maria"}))
        await ready(pilot)
        last = cloud_desk.store.messages(conv.id)[-1]
        assert last.status is MessageStatus.FAILED and last.error_code == 132000
        assert "number of parameters does not match" in last.error_text


async def test_a_webhook_with_a_bad_signature_is_refused_and_leaves_no_trace(cloud_desk, emulator, data_dir):
    async with WadeskApp(cloud_desk).run_test(size=SIZE) as pilot:
        await start_desk(pilot, cloud_desk, emulator)
        conv = free_window(cloud_desk)
        forged = Message("wamid.FORGED", conv.id, Direction.INBOUND, "text", NOW, MessageStatus.RECEIVED, text="send me money")
        body = webhook_for([MessageReceived(conv.business_number_id, conv.customer, forged)], waba_id=WABA,
                           display_numbers=emulator.display_numbers)
        spool = (data_dir / "webhooks.spool").read_bytes()
        async with httpx.AsyncClient(base_url=emulator.url) as client:
            for how in ("bad", "missing"):
                answer = await client.post("/_emulator/deliver_raw", json={"body": body, "signature": how})
                assert answer.json()["statuses"] == [401]
        await ready(pilot)
        assert (data_dir / "webhooks.spool").read_bytes() == spool
        assert all(m.id != "wamid.FORGED" for m in cloud_desk.store.messages(conv.id))


async def test_duplicates_out_of_order_end_in_one_message_in_its_final_state(cloud_desk, emulator):
    async with WadeskApp(cloud_desk).run_test(size=SIZE) as pilot:
        await start_desk(pilot, cloud_desk, emulator)
        conv = free_window(cloud_desk)
        sent = await cloud_desk.backend.send_text(conv.business_number_id, conv.customer, "tracking number coming")
        ours = Message("local.dup", conv.id, Direction.OUTBOUND, "text", NOW, MessageStatus.QUEUED, text="tracking number coming")
        await pilot.app.engine.writer.record_outgoing(ours)
        await pilot.app.engine.writer.update_outgoing(conv.id, ours.id, MessageStatus.SENT, at=NOW, wamid=sent.wamid)
        inbound = Message("wamid.DUP-IN", conv.id, Direction.INBOUND, "text", NOW, MessageStatus.RECEIVED, text="thanks!")
        events = [MessageReceived(conv.business_number_id, conv.customer, inbound)] + [
            StatusChanged(conv.business_number_id, conv.customer.id, sent.wamid, status, NOW + timedelta(seconds=i))
            for i, status in enumerate((MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ))
        ]
        statuses = await emulator.deliver(events, duplicates=3, shuffle=True)
        assert statuses.count(200) == 12
        ours_now = lambda: next(m for m in cloud_desk.store.messages(conv.id) if m.wamid == sent.wamid)  # noqa: E731
        await until(pilot, lambda: ours_now().status is MessageStatus.READ, "read")
        await ready(pilot)
        messages = cloud_desk.store.messages(conv.id)
        assert [m.id for m in messages].count("wamid.DUP-IN") == 1
        assert [m for m in messages if m.wamid == sent.wamid][0].status is MessageStatus.READ


# --- the receiver killed mid-stream ----------------------------------------------------------------


def _serve(tmp_path: Path, data_dir: Path, config: Config) -> subprocess.Popen:
    numbers = "\n".join(
        f'[[cloud.numbers]]\nphone_number_id = "{n.phone_number_id}"\ndepartment = "{n.department}"\n'
        for n in config.cloud.numbers
    )
    config_file = tmp_path / "cloud.toml"
    config_file.write_text(
        f'backend = "cloud"\n[cloud]\ngraph_url = "http://127.0.0.1:9"\nwaba_id = "{WABA}"\n\n{numbers}\n'
        '[webhook]\nhost = "127.0.0.1"\nport = 0\npath = "/webhook"\n',
        encoding="utf-8",
    )
    env = dict(os.environ, WHATSAPP_ACCESS_TOKEN=SECRETS.access_token, WHATSAPP_APP_SECRET=SECRETS.app_secret,
               WHATSAPP_VERIFY_TOKEN=SECRETS.verify_token, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    return subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "--config", str(config_file), "--data-dir", str(data_dir), "serve"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )


def _listening_on(process: subprocess.Popen) -> str:
    for line in process.stderr:
        text = line.decode()
        if "receiving webhooks on" in text:
            return text.rsplit(" ", 1)[1].strip()
    raise AssertionError("wadesk serve never started")


async def test_a_receiver_killed_mid_stream_loses_no_webhook_that_got_a_200(tmp_path, data_dir, emulator, clock):
    config = cloud_config(emulator)
    people = [p.customer for p in emulator.simulation.people if p.customer.phone][:5]
    number = config.cloud.numbers[0].phone_number_id
    bodies = []
    for i in range(600):
        # Ten messages a body: applying a body costs ~10 ms, acknowledging it ~1, so at the kill
        # there are bodies acknowledged and not yet applied (the case the spool is there for).
        events = []
        for k in range(10):
            customer = people[(i + k) % len(people)]
            message = Message(f"wamid.KILL{i:04d}.{k}", f"{number}~{customer.id}", Direction.INBOUND, "text",
                              NOW + timedelta(seconds=i), MessageStatus.RECEIVED, text=f"message {i}.{k}")
            events.append(MessageReceived(number, customer, message))
        payload = webhook_for(events, waba_id=WABA, display_numbers=emulator.display_numbers)
        bodies.append(([e.message.id for e in events], webhook_bytes(payload)))

    acknowledged: list[str] = []
    process = _serve(tmp_path, data_dir, config)
    try:
        url = _listening_on(process)
        async with httpx.AsyncClient(timeout=5.0) as client:

            async def post(wamids: list[str], body: bytes) -> None:
                headers = {"X-Hub-Signature-256": signature(body, SECRETS.app_secret), "Content-Type": "application/json"}
                try:
                    answer = await client.post(url, content=body, headers=headers)
                except httpx.HTTPError:
                    return  # killed before it answered: Meta would retry it
                if answer.status_code == 200:
                    acknowledged.extend(wamids)
                    if len(acknowledged) == 2000:
                        process.send_signal(signal.SIGKILL)  # with other requests in flight

            # Many at a time, as Meta delivers concurrently: the receiver acknowledges (one fsync for
            # a batch) faster than the store applies, so the kill finds acknowledged, unapplied ones.
            for start in range(0, len(bodies), 100):
                await asyncio.gather(*(post(w, b) for w, b in bodies[start : start + 100]))
    finally:
        process.kill()
        process.wait(timeout=30)
    assert 2000 <= len(acknowledged) < 10 * len(bodies)

    # The next start replays what was received and not yet applied.
    store = TinyStore(data_dir, clock=clock)
    store.open()
    backend = CloudBackend(config, clock, data_dir, SECRETS)
    try:
        await backend.start()
        events = backend.events()
        stored = lambda: {m.id for c in store.conversations() for m in store.messages(c.id)}  # noqa: E731
        while not set(acknowledged) <= stored():
            # The replay is queued at start: waiting long here means a body that got its 200 is gone.
            store.apply(await asyncio.wait_for(anext(events), timeout=10))
        assert set(acknowledged) <= stored()
    finally:
        await backend.stop()
        store.close()


async def test_a_customers_file_is_downloaded_checked_and_saved_where_the_agent_says(cloud_desk, emulator, tmp_path):
    from tui.screens.media import MediaScreen

    async with WadeskApp(cloud_desk).run_test(size=SIZE) as pilot:
        await start_desk(pilot, cloud_desk, emulator)
        conv = free_window(cloud_desk)
        async with httpx.AsyncClient(base_url=emulator.url) as client:
            await client.post("/_emulator/customer_writes", json={
                "phone_number_id": conv.business_number_id, "customer_id": conv.customer.id, "kind": "document",
            })
        await until(pilot, lambda: (cloud_desk.store.conversation(conv.id).preview or "").startswith("document"), "the file")
        await open_conversation(pilot, conv.id)
        await pilot.press("ctrl+f")
        await ready(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, MediaScreen), [n.message for n in pilot.app._notifications]
        assert screen.path.exists()
        assert screen.path.parent == cloud_desk.data_dir / "media"
        target = tmp_path / "saved" / "copy.pdf"
        save = screen.query_one("#media-save")
        save.value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        assert target.read_bytes() == screen.path.read_bytes()


async def test_serve_applies_what_it_acknowledged_before_it_stops(tmp_path, data_dir, emulator, clock):
    config = cloud_config(emulator)
    customer = next(p.customer for p in emulator.simulation.people if p.customer.phone)
    number = config.cloud.numbers[0].phone_number_id
    process = _serve(tmp_path, data_dir, config)
    wamids = []
    try:
        url = _listening_on(process)
        async with httpx.AsyncClient(timeout=5.0) as client:

            async def post(i: int) -> None:
                message = Message(f"wamid.TERM{i:03d}", f"{number}~{customer.id}", Direction.INBOUND, "text",
                                  NOW + timedelta(seconds=i), MessageStatus.RECEIVED, text=f"message {i}")
                body = webhook_bytes(webhook_for([MessageReceived(number, customer, message)], waba_id=WABA,
                                                 display_numbers=emulator.display_numbers))
                answer = await client.post(url, content=body, headers={"X-Hub-Signature-256": signature(body, SECRETS.app_secret)})
                assert answer.status_code == 200
                wamids.append(message.id)

            await asyncio.gather(*(post(i) for i in range(200)))
        process.send_signal(signal.SIGTERM)  # right after the last 200
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
    store = TinyStore(data_dir, clock=clock)
    store.open()
    try:
        stored = {m.id for m in store.messages(f"{number}~{customer.id}")}
        assert set(wamids) <= stored
    finally:
        store.close()


async def test_a_local_file_is_uploaded_then_sent(cloud_desk, emulator, tmp_path):
    invoice = tmp_path / "invoice 42.pdf"
    invoice.write_bytes(b"%PDF-1.4 a small invoice\n%%EOF\n")
    async with WadeskApp(cloud_desk).run_test(size=SIZE) as pilot:
        await start_desk(pilot, cloud_desk, emulator)
        conv = free_window(cloud_desk)
        await open_conversation(pilot, conv.id)
        await pilot.press("ctrl+n")
        await pilot.pause()
        pilot.app.screen.query_one("#attach-path").value = str(invoice)
        pilot.app.screen.query_one("#attach-caption").value = "Your invoice"
        await pilot.press("enter")
        await ready(pilot)
        sent = cloud_desk.store.messages(conv.id)[-1]
        assert sent.type == "document" and sent.media.filename == "invoice 42.pdf" and sent.text == "Your invoice"
        assert sent.status is MessageStatus.SENT and sent.wamid


async def test_a_template_status_webhook_updates_the_cached_catalogue_at_once(cloud_desk, emulator):
    from desk.models import TemplateStatus
    from emulator.encode import template_status_webhook

    async with WadeskApp(cloud_desk).run_test(size=SIZE) as pilot:
        await start_desk(pilot, cloud_desk, emulator)
        number = cloud_desk.numbers()[0].id
        template = next(t for t in cloud_desk.store.templates(number) if t.sendable)
        payload = template_status_webhook(WABA, template, "PAUSED", None, at=NOW)
        async with httpx.AsyncClient(base_url=emulator.url) as client:
            answer = await client.post("/_emulator/deliver_raw", json={"body": payload})
        assert answer.json()["statuses"] == [200]

        def paused() -> bool:
            return all(
                t.status is TemplateStatus.PAUSED
                for n in cloud_desk.numbers()
                for t in cloud_desk.store.templates(n.id)
                if (t.name, t.language) == (template.name, template.language)
            )

        await until(pilot, paused, "the template paused in every number's catalogue")


async def test_the_verification_handshake_answers_only_the_right_token(cloud_desk, emulator):
    async with WadeskApp(cloud_desk).run_test(size=SIZE) as pilot:
        await start_desk(pilot, cloud_desk, emulator)
        url = cloud_desk.backend.receiver_url
        async with httpx.AsyncClient() as client:
            good = await client.get(url, params={"hub.mode": "subscribe", "hub.verify_token": SECRETS.verify_token,
                                                 "hub.challenge": "1158201444"})
            bad = await client.get(url, params={"hub.mode": "subscribe", "hub.verify_token": "guess",
                                                "hub.challenge": "1158201444"})
        assert (good.status_code, good.text) == (200, "1158201444")
        assert bad.status_code == 403 and "1158201444" not in bad.text


async def test_an_expired_token_is_said_where_it_cannot_be_missed(emulator, clock, data_dir):
    config = cloud_config(emulator)
    wrong = Secrets(access_token="expired-token", app_secret=SECRETS.app_secret, verify_token=SECRETS.verify_token)
    store = TinyStore(data_dir, clock=clock)
    store.open()
    desk = DeskContext(config, store, CloudBackend(config, clock, data_dir, wrong), clock, data_dir)
    try:
        async with WadeskApp(desk).run_test(size=SIZE) as pilot:
            await start_desk(pilot, desk, emulator, templates=False)  # the sync is refused too
            conv = free_window(desk)
            await pilot.app.send_text(conv, "hello?")
            await ready(pilot)
            failed = store.messages(conv.id)[-1]
            assert failed.status is MessageStatus.FAILED and failed.error_code == 190
            notice = [n for n in pilot.app._notifications if n.title == "WhatsApp refused the desk's credentials"]
            assert notice and "access token has expired" in notice[0].message and notice[0].timeout >= 3600
            assert "expired-token" not in notice[0].message
    finally:
        store.close()
