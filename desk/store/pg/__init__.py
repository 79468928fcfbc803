"""The PostgreSQL store, for a team (docs/team.md): the store contract on one shared database.
Needs the [team] extra (psycopg); nothing in the embedded desk imports it."""
