"""One error table (backends/errors.py) carries, per WhatsApp code, the agent's sentence, Meta's
title and whether WhatsApp turned the request away before acting on it; the Graph client's retries
and the emulator's error bodies are derived from it."""

from __future__ import annotations

from backends.cloud import graph
from backends.errors import ERRORS, REFUSED_CODES, TemporaryError, ThrottledError, title
from desk.models import MessageStatus, StatusChanged
from emulator.encode import webhook_for
from tests.conftest import NOW


def test_the_retry_set_is_the_tables_refused_codes():
    assert graph.REFUSED_CODES is REFUSED_CODES
    assert REFUSED_CODES == {code for code, entry in ERRORS.items() if entry.refused}
    # Refused means nothing was done: only throttling and downtime can say that.
    assert all(issubclass(ERRORS[code].cls, (ThrottledError, TemporaryError)) for code in REFUSED_CODES)
    assert {2, 4, 80007, 130429, 131016} <= REFUSED_CODES and 131047 not in REFUSED_CODES


def test_metas_titles_come_from_the_table():
    assert title(131047) == "Re-engagement message" and title(999999) == "Unknown error"
    status = StatusChanged("100000000000001", "15550001234", "wamid.x", MessageStatus.FAILED, NOW, 131026)
    body = webhook_for([status], waba_id="102290129340398", display_numbers={"100000000000001": "+1 555-0100"})
    error = body["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0]
    assert error["title"] == ERRORS[131026].title == "Message undeliverable"
