"""The hub's agents, in PostgreSQL: `wadesk hub add-agent` makes one and prints its token once,
`wadesk hub revoke` ends it. A token is 32 random bytes; only its SHA-256 is stored (a token has
no need of a slow hash: it is not a password a person chose, and every request checks one)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from psycopg_pool import ConnectionPool

from hub.access import Agent, Revoked, Role, Unauthorized, check_name

TOKEN_PREFIX = "wdk_"
"""Says what the secret is when one turns up in a paste or a scanner's report."""


class AgentExists(Exception):
    pass


class NoSuchAgent(Exception):
    pass


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass
class PgDirectory:
    """The agents of the team database. Every request looks its token up (one indexed row): a
    revoked token is refused on its very next request, on every replica."""

    pool: ConnectionPool

    def who(self, token: str | None) -> Agent:
        if not token:
            raise Unauthorized("This request carries no token: set the hub token's environment variable.")
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT name, role, departments, revoked_at FROM agents WHERE token_sha256 = %s", (digest(token),)
            ).fetchone()
        if row is None:
            raise Unauthorized("The hub does not know this token: ask an admin for one (wadesk hub add-agent).")
        name, role, departments, revoked_at = row
        if revoked_at is not None:
            raise Revoked(
                f"The hub refused your token: agent {name} was revoked on {revoked_at:%Y-%m-%d %H:%M} UTC. "
                "Ask an admin for a new one (wadesk hub add-agent)."
            )
        return Agent(name, Role(role), frozenset(departments))

    def add(self, name: str, role: Role = Role.AGENT, departments: Iterable[str] = ()) -> str:
        """Make the agent (or give a revoked one a new token); returns the token, which is kept
        nowhere: shown once."""
        check_name(name)
        token = new_token()
        with self.pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO agents (name, role, departments, token_sha256) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (name) DO UPDATE SET role = excluded.role, departments = excluded.departments,"
                "   token_sha256 = excluded.token_sha256, revoked_at = NULL, created_at = now()"
                "   WHERE agents.revoked_at IS NOT NULL"
                " RETURNING name",
                (name, role.value, sorted(set(departments)), digest(token)),
            ).fetchone()
        if row is None:
            raise AgentExists(f"There is already an agent named {name}: revoke it first to give it a new token.")
        return token

    def revoke(self, name: str) -> None:
        with self.pool.connection() as conn:
            row = conn.execute(
                "UPDATE agents SET revoked_at = now() WHERE name = %s AND revoked_at IS NULL RETURNING name", (name,)
            ).fetchone()
        if row is None:
            raise NoSuchAgent(f"There is no agent named {name} that is not revoked already.")

    def agents(self) -> list[tuple[Agent, bool]]:
        """Every agent, with whether it is revoked."""
        with self.pool.connection() as conn:
            rows = conn.execute("SELECT name, role, departments, revoked_at FROM agents ORDER BY name").fetchall()
        return [(Agent(n, Role(r), frozenset(d)), at is not None) for n, r, d, at in rows]
