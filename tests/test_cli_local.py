"""The CLI against the local desk's data directory with no desk running (cli/targets.py: this
process opens the store and the engine, serves the agent API on a private socket for the length of
the command, and sends before it exits), as a script runs it: `wadesk ...` in-process, its stdout,
stderr and exit code, then the store as the next desk finds it.

The same commands through a running desk are tests/test_cli_desk.py, against a hub
tests/test_cli_hub.py."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from desk.clock import FrozenClock
from desk.models import ConversationStatus, MessageStatus
from desk.store.tiny import TinyStore
from desk.window import window
from tests.conftest import make_context
from tests.test_hostile_walk import FORBIDDEN, NAME, hostile_events
from tui.cli import main

CONFIG = """agent_name = "ana"
[mock]
inbound_per_minute = 0.0
failure_rate = 0.0
"""


@pytest.fixture(autouse=True)
def quiet_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The log under the test's directory; no config or data dir from the environment."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    for name in ("WADESK_CONFIG", "WADESK_DATA_DIR", "WADESK_HUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def seeded(tmp_path: Path, clock: FrozenClock) -> Path:
    """A data directory as a desk on the mock leaves it (the mock's history and a hostile customer),
    closed; its config beside it. Returns the config's path."""
    data = tmp_path / "data"
    context = make_context(data, clock)
    context.store.apply_many(hostile_events(context.numbers()[0].id)[1])
    context.store.close()
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    return config


@pytest.fixture
def wadesk(seeded: Path, clock: FrozenClock, capsys: pytest.CaptureFixture[str]):
    """`wadesk ARGS --config C --data-dir D` -> (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main([*args, "--config", str(seeded), "--data-dir", str(seeded.parent / "data")], clock=clock)
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def store(seeded: Path, clock: FrozenClock) -> Iterator[TinyStore]:
    """The store as it is after the commands ran (opened after them: the CLI held the lock)."""
    opened: list[TinyStore] = []

    def open_it() -> TinyStore:
        store = TinyStore(seeded.parent / "data", clock=clock)
        store.open()
        opened.append(store)
        return store

    yield open_it  # type: ignore[misc]
    for s in opened:
        s.close()


def ids(seeded: Path, clock: FrozenClock, language: Callable[[str | None], bool] = lambda code: True) -> tuple[str, str]:
    """(a conversation whose window is open, one whose window is closed), the latter's customer
    writing in a `language` it accepts."""
    store = TinyStore(seeded.parent / "data", clock=clock)
    store.open()
    try:
        now = clock.now()
        conversations = sorted(store.conversations(), key=lambda c: c.id)
        open_one = next(c.id for c in conversations if window(c.last_inbound_at, now).open and c.customer.name != NAME)
        closed = next(c.id for c in conversations if not window(c.last_inbound_at, now).open and language(c.language))
        return open_one, closed
    finally:
        store.close()


def one_sentence(err: str, *words: str) -> None:
    assert err.startswith("wadesk: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err


# --- reading -----------------------------------------------------------------------------------------


def test_list_prints_one_line_of_words_per_conversation(wadesk, seeded, clock, store) -> None:
    code, out, err = wadesk("list")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    known = store()
    assert len(lines) == len(known.conversations())
    by_id = {line.split("\t")[0]: line.split("\t") for line in lines}
    assert set(by_id) == {c.id for c in known.conversations()}
    for fields in by_id.values():
        assert len(fields) == 6
        assert fields[2] in {"waiting", "open", "pending", "resolved"} or fields[2].startswith("snoozed")
        assert fields[5] in {"mine", "unassigned"} or fields[5].startswith("owner ")
    waiting = [f for f in by_id.values() if f[2] == "waiting"]
    assert waiting and all(f[3].startswith("waited ") for f in waiting)
    # Those who wait come first, longest first.
    assert [f[2] for f in (line.split("\t") for line in lines)][: len(waiting)] == ["waiting"] * len(waiting)


def test_list_json_has_the_stable_keys_and_the_exact_text(wadesk, store) -> None:
    code, out, err = wadesk("list", "--json")
    assert (code, err) == (0, "")
    assert not FORBIDDEN.findall(out)
    listed = json.loads(out)["conversations"]
    known = {c.id: c for c in store().conversations()}
    assert {c["id"] for c in listed} == set(known)
    for c in listed:
        assert c["customer"]["name"] == known[c["id"]].customer.name  # the hostile name too, exactly
        assert c["status"] == known[c["id"]].status.value
    assert NAME in {c["customer"]["name"] for c in listed}


def test_show_prints_a_header_then_one_message_per_line(wadesk, seeded, clock, store) -> None:
    cid, _ = ids(seeded, clock)
    code, out, err = wadesk("show", cid)
    assert (code, err) == (0, "")
    header, _, body = out.partition("\n\n")
    assert header.splitlines()[0] == f"Conversation: {cid}"
    assert [line.split(": ")[0] for line in header.splitlines()][:6] == [
        "Conversation", "Customer", "Status", "Owner", "Priority", "Window"
    ]
    messages = store().messages(cid)
    lines = body.splitlines()
    assert len(lines) == len(messages)
    for line, message in zip(lines, messages):
        time, direction, status, _text = line.split("\t")
        assert direction.split(" ")[0] == {"in": "in", "out": "out"}[message.direction.value] or direction.startswith("note")
        assert status.split(" ")[0].rstrip(":") == message.status.value


def test_show_json(wadesk, seeded, clock, store) -> None:
    cid, _ = ids(seeded, clock)
    code, out, _ = wadesk("show", cid, "--json")
    shown = json.loads(out)
    assert code == 0
    assert shown["conversation"]["id"] == cid
    assert [m["id"] for m in shown["messages"]] == [m.id for m in store().messages(cid)]


def test_a_hostile_customer_reaches_no_terminal(wadesk, seeded, clock) -> None:
    code, out, _ = wadesk("list")
    hostile = next(line for line in out.splitlines() if "Dora" in line)
    assert not FORBIDDEN.findall(out)
    assert "<U+202E>evil" in hostile and "␛" in hostile
    cid = hostile.split("\t")[0]
    for args in (("show", cid), ("show", cid, "--json")):
        code, shown, _ = wadesk(*args)
        assert code == 0
        assert not FORBIDDEN.findall(shown), args


def test_an_unknown_conversation_is_refused_in_a_sentence(wadesk) -> None:
    for command in (("show", "nope"), ("note", "nope", "hi"), ("resolve", "nope"), ("reply", "nope", "hi")):
        code, out, err = wadesk(*command)
        assert (code, out) == (1, ""), command
        one_sentence(err, "There is no conversation nope.")


# --- sending ------------------------------------------------------------------------------------------


def test_reply_is_sent_before_the_command_exits(wadesk, seeded, clock, store) -> None:
    cid, _ = ids(seeded, clock)
    code, out, err = wadesk("reply", cid, "Your order ships today.")
    assert (code, err) == (0, "")
    assert out.startswith("Sent: WhatsApp accepted it as wamid.")
    sent = [m for m in store().messages(cid) if m.text == "Your order ships today."]
    assert [(m.status, m.agent) for m in sent] == [(MessageStatus.SENT, "ana")]
    assert sent[0].wamid and sent[0].wamid in out


def test_reply_json_and_the_same_key_sends_once(wadesk, seeded, clock, store) -> None:
    cid, _ = ids(seeded, clock)
    first = wadesk("reply", cid, "Once only", "--json", "--key", "script-key-0001")
    again = wadesk("reply", cid, "Once only", "--json", "--key", "script-key-0001")
    for code, out, err in (first, again):
        told = json.loads(out)
        assert (code, err, told["outcome"], told["key"]) == (0, "", "sent", "script-key-0001")
        assert told["message"]["status"] == "sent" and told["message"]["wamid"].startswith("wamid.")
    assert json.loads(first[1])["message"]["wamid"] == json.loads(again[1])["message"]["wamid"]
    assert [m.id for m in store().messages(cid) if m.text == "Once only"] == ["script-key-0001"]


def test_free_text_after_the_window_is_refused(wadesk, seeded, clock, store) -> None:
    _, closed = ids(seeded, clock)
    code, out, err = wadesk("reply", closed, "Hello?")
    assert (code, out) == (1, "")
    one_sentence(err, "24-hour window is closed")
    assert all(m.text != "Hello?" for m in store().messages(closed))


def test_template_with_its_parameters_is_sent(wadesk, seeded, clock, store) -> None:
    _, closed = ids(seeded, clock)
    code, out, err = wadesk("template", closed, "order_update", "--language", "en_US",
                            "--param", "1=Dora", "--param", "2=#123", "--param", "3=today")
    assert (code, err) == (0, ""), err
    assert out.startswith("Sent: ")
    sent = store().messages(closed)[-1]
    assert (sent.type, sent.status, sent.template) == ("template", MessageStatus.SENT, "order_update (en_US)")
    assert "#123" in sent.text


def test_a_template_in_one_language_needs_no_language(wadesk, seeded, clock) -> None:
    _, closed = ids(seeded, clock)
    code, out, _ = wadesk("template", closed, "thanks_for_contacting", "--json")
    assert (code, json.loads(out)["outcome"]) == (0, "sent")


def test_a_template_in_several_languages_goes_in_the_customers(wadesk, seeded, clock, store) -> None:
    _, greek = ids(seeded, clock, lambda code: code == "el")
    code, out, err = wadesk("template", greek, "order_update", "--param", "1=a", "--param", "2=b", "--param", "3=c")
    assert (code, err) == (0, "")
    assert store().messages(greek)[-1].template == "order_update (el)"


def test_a_template_whatsapp_refuses_is_told_as_failed(wadesk, seeded, clock, store) -> None:
    _, closed = ids(seeded, clock)
    code, out, err = wadesk("template", closed, "order_update", "--language", "en_US")  # no parameters
    assert (code, out) == (1, "")
    one_sentence(err, "Not sent (132000)")
    assert store().messages(closed)[-1].status is MessageStatus.FAILED


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("order_update",), "order_update is in el, en_US, es: say which with --language."),
        (("no_such_template",), "no approved template named no_such_template"),
        (("spring_sale",), "no approved template named spring_sale"),
    ],
)
def test_a_template_that_cannot_be_chosen_is_refused(wadesk, seeded, clock, args, says) -> None:
    _, closed = ids(seeded, clock, lambda code: code not in ("el", "en", "es"))
    code, out, err = wadesk("template", closed, *args)
    assert (code, out) == (1, "")
    one_sentence(err, says)


# --- the agent's actions -------------------------------------------------------------------------------


def test_note_assign_resolve_act_and_say_so(wadesk, seeded, clock, store) -> None:
    cid, _ = ids(seeded, clock)
    assert wadesk("note", cid, "Called the warehouse.") == (0, f"Note added to {cid}.\n", "")
    assert wadesk("assign", cid, "bob") == (0, f"{cid} is now bob's.\n", "")
    assert wadesk("resolve", cid) == (0, f"{cid} is resolved.\n", "")
    after = store()
    conversation = after.conversation(cid)
    assert (conversation.assignee, conversation.status) == ("bob", ConversationStatus.RESOLVED)
    assert [(m.type, m.text, m.agent) for m in after.messages(cid)][-1] == ("note", "Called the warehouse.", "ana")
    assert [(e.action, e.agent) for e in after.audit(cid)][-3:] == [("note", "ana"), ("assigned", "ana"), ("status", "ana")]


def test_note_assign_resolve_json(wadesk, seeded, clock, store) -> None:
    cid, _ = ids(seeded, clock)
    code, out, _ = wadesk("note", cid, "In JSON", "--json")
    assert code == 0 and json.loads(out)["message"]["type"] == "note"
    code, out, _ = wadesk("assign", cid, "nobody", "--json")
    assert (code, json.loads(out)) == (0, {"conversation_id": cid, "assignee": None})
    code, out, _ = wadesk("resolve", cid, "--json")
    assert (code, json.loads(out)) == (0, {"conversation_id": cid, "status": "resolved"})
    assert store().conversation(cid).assignee is None


# --- usage and refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("reply", "pn1~1"),
        ("reply", "pn1~1", "   "),
        ("show",),
        ("template", "pn1~1", "x", "--param", "no-equals"),
        ("reply", "pn1~1", "hi", "--wait", "-1"),
        ("list", "--no-such-option"),
        ("assign", "pn1~1"),
    ],
)
def test_usage_errors_exit_2(wadesk, args) -> None:
    with pytest.raises(SystemExit) as exited:
        wadesk(*args)
    assert exited.value.code == 2


def test_a_directory_held_by_a_process_without_a_socket_is_refused(wadesk, seeded, clock) -> None:
    holder = TinyStore(seeded.parent / "data", clock=clock)
    holder.open()  # as `wadesk check` holds it: the lock, no socket
    try:
        code, out, err = wadesk("list")
    finally:
        holder.close()
    assert (code, out) == (1, "")
    one_sentence(err, "holds the data directory", "try again")


def test_a_socket_left_by_a_killed_desk_is_passed_by(wadesk, seeded) -> None:
    from tests.test_cli_desk import leave_dead_socket

    leave_dead_socket(seeded.parent / "data" / "desk.sock")
    code, out, err = wadesk("list")
    assert (code, err) == (0, "") and out


def test_a_directory_without_a_desk_is_refused(tmp_path: Path, capsys, clock) -> None:
    code = main(["list", "--data-dir", str(tmp_path / "nothing")], clock=clock)
    _, err = capsys.readouterr()
    assert code == 1
    one_sentence(err, "There is no desk's data in", "nothing")
    assert not (tmp_path / "nothing").exists()


def test_the_help_lists_the_commands(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("list", "show", "reply", "template", "note", "assign", "resolve"):
        assert f"    {command} " in out


def test_mine_is_the_desks_own_agent(wadesk, seeded, clock) -> None:
    """"mine" as the desk's screens say it: the config's agent id (agent_key: "Ana María" -> "ana-maría")."""
    seeded.write_text(CONFIG.replace('agent_name = "ana"', 'agent_name = "Ana María"'))
    cid, _ = ids(seeded, clock)
    assert wadesk("assign", cid, "ana-maría")[0] == 0
    _, out, _ = wadesk("list")
    assert next(line for line in out.splitlines() if line.startswith(cid)).endswith("\tmine")
    assert wadesk("assign", cid, "bob")[0] == 0
    _, out, _ = wadesk("list")
    assert next(line for line in out.splitlines() if line.startswith(cid)).endswith("\towner bob")
