"""The PostgreSQL store, for a team (docs/team.md, docs/storage.md): the store contract on one
shared database. Needs the [team] extra (psycopg); nothing in the embedded desk imports it."""

from desk.store.pg.store import PgStore, StoreClosed

__all__ = ["PgStore", "StoreClosed"]
