"""One home for "the window closes soon": the configured inbox.closing_soon_minutes reaches the row's
label as well as the filter (with 120, a row with 90 minutes left was filtered as closing but
labelled '◷ 1h30m left')."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from desk.config import InboxConfig
from desk.models import Customer, Direction, Message, MessageReceived, MessageStatus, conversation_id
from tests.conftest import NOW, make_context, quiet_config, ready
from tests.test_undelivered import _row_text
from tui.app import WadeskApp

SIZE = (80, 24)


async def test_the_configured_closing_soon_reaches_the_row_label_and_the_filter(data_dir, clock):
    config = dataclasses.replace(quiet_config(), inbox=InboxConfig(closing_soon_minutes=120))
    desk = make_context(data_dir, clock, config)
    number = desk.numbers()[0].id
    customer = Customer("15550002222", "Nadia", phone="+15550002222")
    cid = conversation_id(number, customer.id)
    written = NOW - timedelta(hours=24) + timedelta(minutes=90)  # 90 minutes of window left
    message = Message("wamid.closing", cid, Direction.INBOUND, "text", written, MessageStatus.RECEIVED, "hello?")
    desk.store.apply(MessageReceived(number, customer, message))
    try:
        async with WadeskApp(desk, pump_events=False).run_test(size=SIZE) as pilot:
            await ready(pilot)
            assert "◔ closing 1h30m" in await _row_text(pilot, cid)
            await pilot.press("4")  # window closing soon
            await ready(pilot)
            assert cid in [r.conversation.id for r in pilot.app.screen.list.rows]
    finally:
        desk.store.close()
