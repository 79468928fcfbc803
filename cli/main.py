"""Running one CLI command: the target, the words' context, and every refusal as a sentence."""

from __future__ import annotations

import argparse
import os
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from cli.args import REFUSED
from desk.clock import Clock, SystemClock
from desk.config import Config, agent_key, zone
from desk.sla import SlaPolicy

if TYPE_CHECKING:
    from backends.hub.client import HubClient
    from cli.render import View

def main(args: argparse.Namespace, config: Config, data_dir: Path, clock: Clock | None = None) -> int:
    """Run the command `args` names: 0 done, 1 refused or failed (a sentence on stderr)."""
    try:
        from backends.hub.client import HubError
        from cli import targets
        from cli.commands import Command, Refused
    except ImportError as exc:  # the hub's client needs the [team] extra (httpx-sse)
        print(f"wadesk: {args.command} needs the team extra ({exc.name} is missing): pip install 'wadesk[team]'.",
              file=sys.stderr)
        return REFUSED

    def execute(client: HubClient, desk_clock: Clock | None, local: bool) -> int:
        make = cache(lambda: view(client, config, desk_clock or clock or SystemClock(), local))
        return Command(args, client, make).run()

    try:
        return targets.run(args, config, data_dir, execute, clock)
    except (Refused, HubError) as exc:
        print(f"wadesk: {exc}", file=sys.stderr)
        return REFUSED
    except BrokenPipeError:  # `wadesk list | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return REFUSED


def view(client: HubClient, config: Config, clock: Clock, local: bool) -> View:
    """The agent's zone and SLA policies from the config; "mine": the local desk's agent id as its
    screens have it (desk.config.agent_key), or the hub's name for this token's agent."""
    from cli.render import View

    policies: dict[str, SlaPolicy] = {}

    def policy(business_number_id: str) -> SlaPolicy:
        if business_number_id not in policies:
            policies[business_number_id] = SlaPolicy.from_config(config.sla_for(business_number_id))
        return policies[business_number_id]

    me = agent_key(config) if local else client.me().agent
    return View(zone(config.timezone, "timezone"), clock.now(), me, policy)
