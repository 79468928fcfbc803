"""Files to send, shared by the hub's replicas: the API keeps a posted file in PostgreSQL (table
hub_files, by the send's key) besides its own data directory; the replica that claims the send
copies it into its own data directory when it is not there (another replica took the post, or
the data directory was lost). The message's recorded path is the first replica's; the copy is
sent, the record is left as it was."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from psycopg_pool import AsyncConnectionPool

from desk.models import Message


class SharedFiles:
    def __init__(self, pool: AsyncConnectionPool, root: Path) -> None:
        self._pool = pool
        self._root = root
        """This replica's outgoing files (data_dir/outgoing), where copies are made."""

    async def keep(self, key: str, filename: str, content: bytes) -> None:
        """Durable when it returns: before the API answers, as the message is."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO hub_files (key, filename, content) VALUES (%s, %s, %s) ON CONFLICT (key) DO NOTHING",
                (key, filename, content),
            )

    async def local(self, message: Message) -> Message:
        """`message` with a path this replica can read its file at: its own, or a copy made from
        the database (the message as it is when its file is not a shared one)."""
        media = message.media
        if media is None or not media.path or await asyncio.to_thread(Path(media.path).exists):
            return message
        async with self._pool.connection() as conn:
            row = await (await conn.execute("SELECT filename, content FROM hub_files WHERE key = %s", (message.id,))).fetchone()
        if row is None:
            return message  # nothing kept: the send fails on the missing file, in a sentence
        filename, content = row
        copy = self._root / message.id / Path(filename).name
        await asyncio.to_thread(_write, copy, bytes(content))
        return dataclasses.replace(message, media=dataclasses.replace(media, path=str(copy)))


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    temporary.write_bytes(content)
    temporary.replace(path)
