"""The desk as the hub's client (docs/team.md): `client` speaks the hub's HTTP API, `store` mirrors
what this agent may see, `backend` sends through the hub. Imported only with `backend = "hub"` or
by the CLI's `--hub`: httpx-sse comes with the [team] extra."""
