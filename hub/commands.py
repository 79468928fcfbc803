"""`wadesk hub ...`: the hub itself and its admin's commands.

    wadesk hub                        serve (hub/server.py)
    wadesk hub migrate                apply the schema steps the database lacks; prints them
    wadesk hub add-agent NAME [--role agent|admin] [--departments D ...]   prints the token once
    wadesk hub revoke NAME
    wadesk hub import DATA_DIR        copy a single agent's TinyDB store in; prints the counts

Exit codes: 0 done, 1 refused or failed (one sentence on stderr), 2 usage (argparse). Nothing
here imports psycopg until a hub command runs: tui/cli.py builds its parser from this module at
every start, and the embedded desk must run without the [team] extra.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from desk.config import Config

if TYPE_CHECKING:
    from hub.agents import PgDirectory

REFUSED = 1


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]) -> None:
    hub = commands.add_parser(
        "hub",
        parents=parents,
        help="team mode: serve the hub on PostgreSQL, or run one of its admin commands (see `wadesk hub --help`)",
        description="Without a command: serve the team's hub ([hub] listen: the agents' API and the webhook path). "
        "The database's URL is read from the environment variable [hub] database_url_env (default WADESK_DATABASE_URL).",
    )
    sub = hub.add_subparsers(dest="hub_command", metavar="[hub command]")
    sub.add_parser("migrate", parents=parents, help="apply the schema steps the team database lacks (idempotent)",
                   description="Apply the schema steps the database lacks, in order, and print their names. "
                   "Refuses a database migrated by a newer wadesk.")
    add = sub.add_parser("add-agent", parents=parents, help="make an agent and print its token, once",
                         description="Make an agent and print its token. The token is shown only now: the database "
                         "keeps its SHA-256 alone. The agent sets it in the variable [hub] token_env.")
    add.add_argument("name", help="the agent's name, also its id: lower case, digits, - and _")
    add.add_argument("--role", choices=("agent", "admin"), default="agent")
    add.add_argument("--departments", nargs="*", default=[], metavar="DEPARTMENT",
                     help="the departments (business numbers) the agent may see; none: every one")
    revoke = sub.add_parser("revoke", parents=parents, help="revoke an agent's token (its next request is refused)")
    revoke.add_argument("name")
    imp = sub.add_parser("import", parents=parents, help="copy a single agent's data directory into the team database",
                         description="Copy a TinyDB data directory (conversations, messages, audit, drafts, tabs, "
                         "quick replies, profiles, templates) into the team database; a second run adds nothing. "
                         "Run it while no desk has the directory open.")
    imp.add_argument("source", type=Path, metavar="DATA_DIR")
    imp.add_argument("--agent", help="the team agent whose drafts the desk's become (default: kept as the desk's own)")


def main(args: argparse.Namespace, config: Config, data_dir: Path) -> int:
    from backends.hub import extra

    if sentence := extra.missing():
        print(f"wadesk hub: {sentence}", file=sys.stderr)
        return 1
    from hub.server import HubRefused, database_url, serve

    command = getattr(args, "hub_command", None)
    if command is None:
        return serve(config, data_dir)
    try:
        conninfo = database_url(config)
        if command == "migrate":
            return _migrate(conninfo)
        if command == "add-agent":
            return _add_agent(conninfo, args.name, args.role, args.departments)
        if command == "revoke":
            return _revoke(conninfo, args.name)
        return _import(conninfo, args.source, args.agent)
    except HubRefused as exc:
        return _refused(str(exc))


def _refused(sentence: str) -> int:
    print(f"wadesk hub: {sentence}", file=sys.stderr)
    return REFUSED


def _migrate(conninfo: str) -> int:
    import psycopg

    from desk.store.pg import migrate
    from hub.server import where

    try:
        applied = migrate.migrate(conninfo)
    except migrate.SchemaTooNew as exc:
        return _refused(str(exc))
    except psycopg.Error as exc:
        return _refused(f"Cannot migrate {where(conninfo)}: {type(exc).__name__}; check that it runs and the URL.")
    for name in applied:
        print(f"applied {name}")
    if not applied:
        print(f"the schema is up to date (version {migrate.code_version()})")
    return 0


@contextmanager
def _directory(conninfo: str) -> Iterator[PgDirectory]:
    """hub.agents' directory on a short-lived pool, once the schema is checked."""
    from psycopg_pool import ConnectionPool

    from hub.agents import PgDirectory
    from hub.server import check_database

    check_database(conninfo)
    with ConnectionPool(conninfo, min_size=1, max_size=1, open=True) as pool:
        yield PgDirectory(pool)


def _add_agent(conninfo: str, name: str, role: str, departments: list[str]) -> int:
    from hub.access import Role
    from hub.agents import AgentExists

    try:
        with _directory(conninfo) as directory:
            token = directory.add(name, Role(role), departments)
    except (AgentExists, ValueError) as exc:
        return _refused(str(exc))
    print(token)
    print(f"(the token of {name}, shown this once: give it to them for their [hub] token_env variable)", file=sys.stderr)
    return 0


def _revoke(conninfo: str, name: str) -> int:
    from hub.agents import NoSuchAgent

    try:
        with _directory(conninfo) as directory:
            directory.revoke(name)
    except NoSuchAgent as exc:
        return _refused(str(exc))
    print(f"revoked {name}: its next request is refused")
    return 0


def _import(conninfo: str, source: Path, agent: str | None) -> int:
    from desk.clock import SystemClock
    from desk.store import StoreLocked
    from desk.store.pg.importer import import_store
    from desk.store.tiny import TinyStore
    from hub.server import check_database, open_store

    if not source.is_dir():
        return _refused(f"{source} is not a directory: give the data directory of the desk to import.")
    check_database(conninfo)
    clock = SystemClock()
    tiny = TinyStore(source, clock=clock)
    try:
        tiny.open()
    except StoreLocked as exc:
        return _refused(str(exc))
    try:
        target = open_store(conninfo, clock)
        try:
            counts = import_store(tiny, target, agent=agent)
        finally:
            target.close()
    finally:
        tiny.close()
    for field in dataclasses.fields(counts):
        print(f"{field.name.replace('_', ' ')}: {getattr(counts, field.name)}")
    return 0
