"""The team's hub (docs/team.md): webhook ingest, the outbox and the store on PostgreSQL, and the
agents' HTTP API (REST + Server-Sent Events) that desks and the CLI use. Needs the [team] extra
where it touches PostgreSQL; the API itself (hub.api) works over any store."""
