"""`wadesk`: the command line. A bare `wadesk` opens the desk.

Every failure at start is one sentence on stderr naming the path or the port and what to do, with a
non-zero exit (2, as for a bad config); the traceback goes to the log file only.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
import tempfile
from pathlib import Path

import platformdirs

from backends import registry
from cli import args as cli_args
from desk.clock import Clock
from desk.config import Config, ConfigError, load
from desk.store import StoreLocked
from tui.logs import log_path, log_to_file, stop_logging

log = logging.getLogger("wadesk")

START_FAILED = 2
"""The exit code of every failure at start (a bad config, an unusable data dir, a busy port)."""


def _global_options(p: argparse.ArgumentParser, *, after_command: bool) -> None:
    """The options every command takes, before or after its name (`wadesk serve --config X`).

    After the command they default to SUPPRESS, so that a subcommand that was not given one leaves
    the value given before it alone."""
    default = argparse.SUPPRESS if after_command else None  # (None: argparse's own default)
    p.add_argument("--config", type=Path, help="config file (default: $WADESK_CONFIG, else config.toml in the user config dir if present)", default=default)
    p.add_argument("--data-dir", type=Path, help="where the store lives (default: $WADESK_DATA_DIR, else the config's data_dir, else the user data dir)", default=default)
    p.add_argument("--backend", choices=registry.names(), help="which WhatsApp to talk to (config key: backend)", default=default)
    p.add_argument("--seed", type=int, help="the mock's random seed (config key: mock.seed)", default=default)
    p.add_argument("--speed", type=float, help="run the mock's world N times faster, for demos (config key: mock.speed)", default=default)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wadesk",
        description="A terminal help desk for WhatsApp. With no config it runs on the built-in mock with demo data.",
    )
    _global_options(p, after_command=False)
    after = argparse.ArgumentParser(add_help=False)
    _global_options(after, after_command=True)
    commands = p.add_subparsers(dest="command", metavar="[command]")
    commands.add_parser(
        "serve",
        parents=[after],
        help="receive webhooks headless (the cloud backend, no TUI): for a server where no desk is open",
        description="Run the webhook receiver without the TUI; it owns the data directory like a desk does.",
    )
    check = commands.add_parser(
        "check",
        parents=[after],
        help="verify a data directory (shards, index, spool) and say what it found; --repair rebuilds",
        description="Verify the data directory a desk would use: every conversation file parses, the index and the "
        "files agree, the spool's records are intact and nothing acknowledged is left unapplied (docs/storage.md). "
        "Exits 0 when it is clean. Run it while no desk or serve has the directory open.",
    )
    check.add_argument("--repair", action="store_true", help="rebuild what can be rebuilt (damaged files are kept aside)")
    commands.add_parser(
        "reindex",
        parents=[after],
        help="rebuild the search index from the conversations",
        description="Rebuild the search index (search.sqlite, a cache beside the store) from the conversations. "
        "The desk does it by itself when the index is missing or damaged. Run it while no desk or serve has the "
        "directory open.",
    )
    from hub.commands import add_parser as add_hub_parser  # (no psycopg until a hub command runs)

    add_hub_parser(commands, [after])
    cli_args.add_commands(commands, after)
    commands.add_parser(
        "emulator",
        help="run a local WhatsApp Cloud API emulator (see `wadesk emulator --help`)",
        add_help=False,
    )
    return p


def config_path(arg: Path | None) -> Path | None:
    if arg is not None:
        return arg
    if env := os.environ.get("WADESK_CONFIG"):
        return Path(env)
    default = Path(platformdirs.user_config_dir("wadesk", appauthor=False)) / "config.toml"
    return default if default.exists() else None


def resolve(args: argparse.Namespace) -> tuple[Config, Path]:
    """The config with command-line overrides applied and checked, and the data directory."""
    config = load(config_path(args.config), backend=args.backend, seed=args.seed, speed=args.speed)
    from engine.context import default_data_dir

    data_dir = args.data_dir or os.environ.get("WADESK_DATA_DIR") or config.data_dir or default_data_dir()
    return config, Path(data_dir).expanduser()


def _emulator_argv(p: argparse.ArgumentParser, args: argparse.Namespace, rest: list[str]) -> list[str]:
    """`wadesk --config X emulator` is `wadesk emulator --config X`; the emulator has no store."""
    for option in ("data_dir", "backend", "seed"):
        if getattr(args, option) is not None:
            p.error(f"wadesk emulator does not take --{option.replace('_', '-')}")

    def given(option: str) -> bool:
        return any(arg == option or arg.startswith(option + "=") for arg in rest)

    before = []
    if args.config is not None and not given("--config"):
        before += ["--config", str(args.config)]
    if args.speed is not None and not given("--speed"):
        before += ["--speed", str(args.speed)]
    return before + rest


def usable_data_dir(data_dir: Path) -> None:
    """Create the data directory and prove it takes a durable write, so that a read-only, full or
    misplaced one stops the start with a sentence instead of failing inside the app later.
    Raises OSError (with `filename` set) otherwise."""
    if data_dir.exists() and not data_dir.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "is a file", str(data_dir))
    data_dir.mkdir(parents=True, exist_ok=True)
    # A page, fsync'd: a full disk often still creates an empty file.
    with tempfile.TemporaryFile(dir=data_dir, prefix=".wadesk-probe-") as probe:
        probe.write(b"\0" * 4096)
        probe.flush()
        os.fsync(probe.fileno())


def data_dir_sentence(data_dir: Path, exc: OSError) -> str:
    """What went wrong with the data directory and what to do, in one sentence."""
    other = "choose another with --data-dir (or WADESK_DATA_DIR)"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"There is no space left on the disk of the data directory {data_dir}: free some space, or {other}."
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"The data directory {data_dir} is not writable ({exc.strerror}): make it writable, or {other}."
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        blocker = next((p for p in (data_dir, *data_dir.parents) if p.exists()), data_dir)
        if blocker == data_dir:
            return f"The data directory {data_dir} is a file, not a directory: move the file away, or {other}."
        return f"The data directory {data_dir} cannot be created because {blocker} is a file: {other}."
    return f"The data directory {data_dir} cannot be used ({exc.strerror or exc}): {other}."


def main(argv: list[str] | None = None, *, clock: Clock | None = None) -> int:
    """`clock`: the CLI commands' time (tests freeze it); the desk's is built from the config."""
    p = parser()
    args, rest = p.parse_known_args(argv)
    if args.command == "emulator":
        from emulator.cli import main as emulator_main

        return emulator_main(_emulator_argv(p, args, rest))
    if rest:
        p.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        config, data_dir = resolve(args)
    except ConfigError as exc:
        print(f"wadesk: {exc}", file=sys.stderr)
        return START_FAILED
    try:
        handler = log_to_file()
    except OSError as exc:
        handler = None
        print(f"wadesk: cannot write the log file {log_path()} ({exc.strerror}); running without one.", file=sys.stderr)
    try:
        if args.command == "check":
            from tui.check import main as check_main

            return check_main(data_dir, repair=args.repair)
        if args.command == "hub":
            from hub.commands import main as hub_main

            return hub_main(args, config, data_dir)
        if args.command == "reindex":
            from tui.reindex import main as reindex_main

            return reindex_main(data_dir)
        if args.command in cli_args.COMMANDS:
            from cli.main import main as cli_main

            return cli_main(args, config, data_dir, clock)
        return _run(args, config, data_dir)
    finally:
        if handler is not None:
            stop_logging(handler)


def _run(args: argparse.Namespace, config: Config, data_dir: Path) -> int:
    """Open the store and run the desk or `serve`; every failure at start becomes a sentence."""
    from backends.base import Capability
    from backends.cloud.receiver import CannotListen, check_listen

    try:
        usable_data_dir(data_dir)
        from engine.context import build, identified

        context = build(config, data_dir)
        from tui.keys import keymap

        keymap(config.keys)  # an unknown key id stops the start here, as a sentence
        if Capability.WEBHOOKS in context.backend.capabilities:
            # The receiver binds inside the app's event loop, once the TUI owns the terminal: a busy
            # port must stop the start here, while a sentence on stderr can still be read.
            check_listen(config.webhook.host, config.webhook.port)
        context.store.open()
        identified(context)
    except (ConfigError, CannotListen, StoreLocked) as exc:
        print(f"wadesk: {exc}", file=sys.stderr)
        return START_FAILED
    except OSError as exc:
        log.exception("cannot start on the data directory %s", data_dir)
        print(f"wadesk: {data_dir_sentence(data_dir, exc)}", file=sys.stderr)
        return START_FAILED
    try:
        if args.command == "serve":
            from tui.serve import serve

            return serve(context)
        from tui.app import WadeskApp

        # A desk in team mode has no socket: the CLI goes to the hub itself (cli.targets).
        WadeskApp(context, serve_cli=config.backend != "hub").run()
    except CannotListen as exc:  # taken between the check above and the bind
        print(f"wadesk: {exc}", file=sys.stderr)
        return START_FAILED
    finally:
        context.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
