"""Who may see and do what: an agent sees the conversations of its departments (a business
number's `department`, or its id); an admin, and an agent given no departments, see them all.
One home for the rule: the API filters reads, events and actions through `Access`. Who the
agent is comes from a directory: the team's (hub/agents.py, PostgreSQL), or the embedded desk's
`LocalDirectory`, which needs no [team] extra."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from desk.models import BusinessNumber


class Role(str, enum.Enum):
    AGENT = "agent"
    ADMIN = "admin"


NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
"""An agent's name is also its id (conversations are assigned to it): lower case, no spaces."""


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(
            f"An agent's name is 1 to 40 lower-case letters, digits, - and _, starting with a letter or digit; {name!r} is not."
        )
    return name


@dataclass(frozen=True)
class Agent:
    name: str
    role: Role = Role.AGENT
    departments: frozenset[str] = frozenset()
    """Departments (or business number ids) this agent works in; empty: all of them."""

    @property
    def admin(self) -> bool:
        return self.role is Role.ADMIN


class Unauthorized(Exception):
    """No token, or one the hub does not know."""


class Revoked(Exception):
    """The token was valid once; its agent was revoked."""


@dataclass(frozen=True)
class LocalDirectory:
    """The embedded desk's API (its Unix socket, mode 0600): whoever can open the socket is the
    desk's own agent, with every right; there is no token."""

    agent: Agent

    def who(self, token: str | None) -> Agent:
        return self.agent


class Access:
    """An agent's view of the business numbers: which it may see."""

    def __init__(self, agent: Agent, numbers: Iterable[BusinessNumber]) -> None:
        self.agent = agent
        every = list(numbers)
        if agent.admin or not agent.departments:
            self._numbers = {n.id for n in every}
        else:
            self._numbers = {n.id for n in every if n.department in agent.departments or n.id in agent.departments}

    def number(self, business_number_id: str | None) -> bool:
        return business_number_id is not None and business_number_id in self._numbers

    @property
    def numbers(self) -> frozenset[str]:
        return frozenset(self._numbers)
