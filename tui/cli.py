"""`wadesk`: the command line. A bare `wadesk` opens the desk."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from pathlib import Path

import platformdirs

from desk.config import BACKENDS, Config, ConfigError, load
from desk.store import StoreLocked

log = logging.getLogger("wadesk")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wadesk",
        description="A terminal help desk for WhatsApp. With no config it runs on the built-in mock with demo data.",
    )
    p.add_argument("--config", type=Path, help="config file (default: $WADESK_CONFIG, else config.toml in the user config dir if present)")
    p.add_argument("--data-dir", type=Path, help="where the store lives (default: $WADESK_DATA_DIR, else the config's data_dir, else the user data dir)")
    p.add_argument("--backend", choices=BACKENDS, help="which WhatsApp to talk to (config key: backend)")
    p.add_argument("--seed", type=int, help="the mock's random seed (config key: mock.seed)")
    p.add_argument("--speed", type=float, help="run the mock's world N times faster, for demos (config key: mock.speed)")
    commands = p.add_subparsers(dest="command", metavar="[command]")
    commands.add_parser(
        "serve",
        help="receive webhooks headless (the cloud backend, no TUI): for a server where no desk is open",
        description="Run the webhook receiver without the TUI; it owns the data directory like a desk does.",
    )
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
    """The config with command-line overrides applied, and the data directory."""
    config = load(config_path(args.config))
    if args.backend:
        config = dataclasses.replace(config, backend=args.backend)
    mock = config.mock
    if args.seed is not None:
        mock = dataclasses.replace(mock, seed=args.seed)
    if args.speed is not None:
        if args.speed <= 0:
            raise ConfigError("--speed must be greater than 0.")
        mock = dataclasses.replace(mock, speed=args.speed)
    config = dataclasses.replace(config, mock=mock)
    from tui.context import default_data_dir

    data_dir = args.data_dir or os.environ.get("WADESK_DATA_DIR") or config.data_dir or default_data_dir()
    return config, Path(data_dir).expanduser()


def _log_to_file() -> None:
    # Never log to stdout while the app owns the terminal.
    log_dir = Path(platformdirs.user_log_dir("wadesk", appauthor=False))
    log_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=log_dir / "wadesk.log", level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def main(argv: list[str] | None = None) -> int:
    args, rest = parser().parse_known_args(argv)
    if args.command == "emulator":
        from backends.cloud.emulator import main as emulator_main

        return emulator_main(rest)
    if rest:
        parser().error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        config, data_dir = resolve(args)
        from tui.context import build

        context = build(config, data_dir)
    except ConfigError as exc:
        print(f"wadesk: {exc}", file=sys.stderr)
        return 2
    _log_to_file()
    try:
        context.store.open()
    except StoreLocked as exc:
        print(f"wadesk: {exc}", file=sys.stderr)
        return 1
    try:
        if args.command == "serve":
            from tui.serve import serve

            return serve(context)
        from tui.app import WadeskApp

        WadeskApp(context).run()
    finally:
        context.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
