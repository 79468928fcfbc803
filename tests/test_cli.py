"""The command line: options before or after a command, and every failure at start as one sentence
(naming the path or the port and what to do) with a non-zero exit, the traceback only in the log.

Real directories, real files, real ports: a read-only or full disk is a small tmpfs when the tests
run as root (root ignores file modes), else a directory without write permission.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_config import CLOUD as CLOUD_CONFIG
from tui import cli
from tui.cli import main
from tui.logs import log_path

CLOUD = CLOUD_CONFIG + """[webhook]
host = "127.0.0.1"
port = {port}
"""
SECRETS = {"WHATSAPP_ACCESS_TOKEN": "t", "WHATSAPP_APP_SECRET": "s", "WHATSAPP_VERIFY_TOKEN": "v"}


@pytest.fixture(autouse=True)
def log_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The log file under the test's own directory (platformdirs reads XDG_STATE_HOME)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("WADESK_CONFIG", raising=False)
    monkeypatch.delenv("WADESK_DATA_DIR", raising=False)
    return tmp_path / "state"


def one_sentence(capsys: pytest.CaptureFixture[str], *names: str) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("wadesk: ") and "\n" not in err, err
    assert "Traceback" not in err
    for name in names:
        assert name in err, err
    return err


@contextlib.contextmanager
def mounted(path: Path, options: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "readonly"
    if os.geteuid() != 0:
        target.mkdir()
        target.chmod(0o555)
        yield target
        target.chmod(0o755)
        return
    with mounted(target, "ro,size=64k") as path:
        yield path


# --- options ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--config", "c.toml", "--data-dir", "d"],
        ["--config", "c.toml", "serve", "--data-dir", "d"],
        ["--config", "c.toml", "--data-dir", "d", "serve"],
        ["check", "--data-dir", "d", "--config", "c.toml"],
    ],
)
def test_global_options_work_before_and_after_the_command(argv):
    args = cli.parser().parse_args(argv)
    assert args.config == Path("c.toml") and args.data_dir == Path("d")
    assert args.backend is None and args.seed is None


def test_an_option_after_the_command_wins_and_one_before_is_kept():
    args = cli.parser().parse_args(["--seed", "3", "--speed", "2", "serve", "--seed", "5"])
    assert (args.seed, args.speed) == (5, 2.0)


@pytest.mark.parametrize(
    "argv, forwarded",
    [
        (["emulator", "--config", "c.toml", "--port", "1"], ["--config", "c.toml", "--port", "1"]),
        (["--config", "c.toml", "emulator", "--port", "1"], ["--config", "c.toml", "--port", "1"]),
        (["--speed", "60", "emulator"], ["--speed", "60.0"]),
    ],
)
def test_the_emulator_gets_the_config_given_before_or_after_it(monkeypatch, argv, forwarded):
    seen = []
    monkeypatch.setattr("emulator.cli.main", lambda rest: seen.append(rest) or 0)
    assert main(argv) == 0
    assert seen == [forwarded]


def test_the_emulator_refuses_an_option_it_cannot_use(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--data-dir", "d", "emulator"])
    assert exit_.value.code == 2 and "--data-dir" in capsys.readouterr().err


def test_the_backend_flag_gets_the_same_checks_as_the_config_key(tmp_path, capsys, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")  # no waba_id, no numbers
    assert main(["--config", str(config), "--backend", "cloud", "--data-dir", str(tmp_path / "d")]) == 2
    one_sentence(capsys, "cloud.waba_id")
    assert main(["--backend", "cloud", "--data-dir", str(tmp_path / "d")]) == 2
    one_sentence(capsys, "cloud.waba_id")


def test_a_zero_speed_flag_names_the_key(tmp_path, capsys):
    assert main(["--speed", "0", "--data-dir", str(tmp_path / "d")]) == 2
    one_sentence(capsys, "mock.speed")


# --- the data directory ---------------------------------------------------------------------------------


def test_a_data_dir_that_is_a_file(tmp_path, capsys):
    file = tmp_path / "data"
    file.write_text("not a directory")
    assert main(["--data-dir", str(file)]) == 2
    err = one_sentence(capsys, str(file), "is a file", "--data-dir")
    assert file.read_text() == "not a directory", err


def test_a_data_dir_that_cannot_be_created(tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    target = blocker / "wadesk" / "data"
    assert main(["--data-dir", str(target)]) == 2
    one_sentence(capsys, str(target), str(blocker), "--data-dir")


def test_a_read_only_data_dir(read_only_dir, capsys, log_home):
    assert main(["--data-dir", str(read_only_dir / "data")]) == 2
    one_sentence(capsys, str(read_only_dir / "data"), "not writable", "--data-dir")
    assert "Traceback" in log_path().read_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="a full disk needs a small tmpfs, which needs root")
def test_no_space_left_at_start(tmp_path, capsys):
    with mounted(tmp_path / "small", "size=64k") as disk:
        fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
        os.close(fd)
        data = disk / "data"
        assert main(["--data-dir", str(data)]) == 2
        one_sentence(capsys, str(data), "no space left", "free some space")
        assert "Traceback" in log_path().read_text() and "No space left" in log_path().read_text()


def test_no_space_left_at_start_injected(tmp_path, capsys, monkeypatch):
    """The same without a small filesystem: the disk refuses the first durable write."""
    import errno

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    data = tmp_path / "data"
    assert main(["--data-dir", str(data)]) == 2
    one_sentence(capsys, str(data), "no space left", "free some space")
    assert "Traceback" in log_path().read_text()


# --- the webhook port -------------------------------------------------------------------------------------


def test_a_webhook_port_already_in_use(tmp_path, capsys, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "config.toml"
        config.write_text(CLOUD.format(port=port), encoding="utf-8")
        for argv in (["--config", str(config)], ["serve", "--config", str(config)]):
            assert main([*argv, "--data-dir", str(tmp_path / "data")]) == 2
            one_sentence(capsys, f"port {port}", "already in use", "webhook.port")


# --- wadesk check ---------------------------------------------------------------------------------------


def test_check_gets_the_resolved_data_dir_and_the_repair_flag(tmp_path, monkeypatch):
    import tui.check as check

    calls = []
    monkeypatch.setattr(check, "main", lambda data_dir, repair=False: calls.append((data_dir, repair)) or 3)
    monkeypatch.setenv("WADESK_DATA_DIR", str(tmp_path / "from-env"))
    assert main(["check"]) == 3
    assert main(["--data-dir", str(tmp_path / "given"), "check", "--repair"]) == 3
    assert calls == [(tmp_path / "from-env", False), (tmp_path / "given", True)]


def test_check_on_a_clean_store_exits_0(tmp_path):
    from desk.store.tiny import TinyStore

    store = TinyStore(tmp_path / "data")
    store.open()
    store.close()
    assert main(["check", "--data-dir", str(tmp_path / "data")]) == 0
    assert main(["--data-dir", str(tmp_path / "data"), "check", "--repair"]) == 0
