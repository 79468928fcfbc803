"""A local WhatsApp Cloud API for tests and demos: Meta's paths, bodies, answers and signed webhooks
on the mock's world. A test double: production code (desk/, backends/) never imports it.

- `server.py`: the `Emulator` (state, clock, the HTTP app, delivering what comes due).
- `graph.py`: messages (every type, mark as read), templates, the number; `media.py`: upload, URL,
  download, delete.
- `delivery.py`: signed webhook POSTs and Meta's retries; `encode.py`: events -> webhook bodies.
- `templates.py`: templates on the wire; `identity.py`: the customers' BSUIDs; `files.py`: media
  files; `wire.py`: Graph's error object and `fields`.
- `control.py`: the /_emulator test endpoints; `cli.py`: `wadesk emulator`.
"""
