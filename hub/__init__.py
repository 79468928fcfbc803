"""Team mode's hub (docs/team.md): webhook ingest, the applier, the outbox across replicas, template
sync and the agents' API, on PostgreSQL. Needs the [team] extra; the embedded desk never imports it."""
