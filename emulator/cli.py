"""`wadesk emulator`: the emulator on the real clock, for a desk to talk to (README: "Two
terminals"). Secrets come from environment variables only."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Literal

from desk.clock import SystemClock
from desk.config import ConfigError, MockConfig, load
from emulator.control import CONTROL_ENDPOINTS
from emulator.server import Emulator

__all__ = ["main", "serve_emulator"]

log = logging.getLogger(__name__)


async def serve_emulator(
    host: str,
    port: int,
    receiver_url: str | None,
    *,
    token: str,
    app_secret: str,
    waba_id: str,
    config: MockConfig,
    speed: float,
    window_errors: Literal["sync", "async"] = "sync",
    history: bool = True,
    ready: asyncio.Event | None = None,
) -> None:
    """Run the emulator on the real clock until cancelled: the mock's history first (as webhooks,
    so the desk gets the demo data), then the live trickle and the statuses of the desk's sends.
    `ready` is set once it listens."""
    emulator = Emulator(
        replace(config, speed=speed), SystemClock(), token=token, app_secret=app_secret, waba_id=waba_id,
        receiver_url=receiver_url, window_errors=window_errors, report=lambda line: print(line, file=sys.stderr, flush=True),
    )
    await emulator.start(host, port)
    log.info("WhatsApp Cloud API emulator on %s, webhooks to %s", emulator.url, receiver_url)
    if ready is not None:
        ready.set()
    try:
        if history:
            await emulator.deliver(emulator.history_events())
        await emulator.run()
    finally:
        await emulator.stop()


def main(argv: list[str] | None = None) -> int:
    """`wadesk emulator [options]`: secrets come from environment variables only."""
    parser = argparse.ArgumentParser(
        prog="wadesk emulator",
        allow_abbrev=False,
        description="A local WhatsApp Cloud API on the mock's customers: point the cloud backend's graph_url at it. "
        "It prints a line for each request it answers and each webhook it delivers.",
        epilog=CONTROL_ENDPOINTS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, help="the wadesk config file (its [mock] and [webhook] sections)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8788)
    parser.add_argument("--receiver-url", help="where to POST webhooks (default: from [webhook] in the config)")
    parser.add_argument("--waba-id", help="the WhatsApp Business Account id (default: cloud.waba_id, else 102290129340398)")
    parser.add_argument("--speed", type=float, help="how many times faster than real time the customers live")
    parser.add_argument("--window-errors", choices=("sync", "async"), default="sync",
                        help="131047 as an HTTP error (sync) or as a failed status webhook (async)")
    parser.add_argument("--no-history", action="store_true", help="do not deliver the mock's history at start")
    parser.add_argument("--token-env", default=None, help="variable holding the access token (default WHATSAPP_ACCESS_TOKEN)")
    parser.add_argument("--app-secret-env", default=None, help="variable holding the app secret (default WHATSAPP_APP_SECRET)")
    args = parser.parse_args(argv)
    try:
        config = load(args.config)
    except ConfigError as error:
        print(f"wadesk emulator: {error}", file=sys.stderr)
        return 2
    token_env = args.token_env or config.cloud.access_token_env
    secret_env = args.app_secret_env or config.cloud.app_secret_env
    token, secret = os.environ.get(token_env, ""), os.environ.get(secret_env, "")
    missing = [name for name, value in ((token_env, token), (secret_env, secret)) if not value]
    if missing:
        print(f"wadesk emulator: set the environment variable(s) {', '.join(missing)} (the desk must use the same values).",
              file=sys.stderr)
        return 2
    speed = args.speed if args.speed is not None else config.mock.speed
    if speed <= 0:
        print("wadesk emulator: --speed must be greater than 0.", file=sys.stderr)
        return 2
    hook = config.webhook
    receiver_url = args.receiver_url or f"http://{hook.host}:{hook.port}{hook.path}"
    waba_id = args.waba_id or config.cloud.waba_id or "102290129340398"
    numbers = ", ".join(f"{n.id} ({n.department}, {n.display})" for n in config.mock.numbers)
    print(
        f"WhatsApp Cloud API emulator on http://{args.host}:{args.port}, webhooks to {receiver_url}\n"
        f"  waba_id {waba_id}; numbers {numbers}\n"
        f"  point the desk at it: [cloud] graph_url = \"http://{args.host}:{args.port}\", waba_id = \"{waba_id}\",\n"
        f"  and one [[cloud.numbers]] per number above. Ctrl-C stops it.",
        file=sys.stderr,
    )
    try:
        asyncio.run(serve_emulator(
            args.host, args.port, receiver_url, token=token, app_secret=secret, waba_id=waba_id,
            config=config.mock, speed=speed, window_errors=args.window_errors, history=not args.no_history,
        ))
    except KeyboardInterrupt:
        return 0
    except OSError as error:
        print(f"wadesk emulator: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
