"""Team mode's packages come with the [team] extra (pyproject.toml); the embedded desk installs
without them. A command that needs them and finds them missing says so in one sentence, before
anything else: the hub at its start, a desk with backend = "hub" at its start."""

from __future__ import annotations

MISSING = (
    "Team mode needs the [team] extra (PostgreSQL's driver and the event stream's client), which this "
    "installation lacks: pip install 'wadesk[team]', or pip install '.[team]' in a checkout."
)


def missing() -> str | None:
    """The sentence to say when the [team] extra is not installed; None when it is."""
    try:
        import httpx_sse  # noqa: F401 - imported only to see that it can be
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        return MISSING
    return None
