"""SQLite's WAL checkpoints, off the event loop.

In WAL mode SQLite copies the log back into the database file (a checkpoint) inside the commit
that takes the log past `wal_autocheckpoint` pages (1,000 by default). With `sqlite_loop` that
commit runs on the service's event loop, so every request in flight waited for it: a few
milliseconds of copying plus an fsync, once per ~160 follow-ups, which set the write path's p99.
The service's writer connections therefore raise the automatic threshold (`AUTOMATIC_PAGES`, a
safety net only) and `keep_checkpointed` runs a PASSIVE checkpoint from a worker thread every
`interval` seconds on a connection of its own: a passive checkpoint never waits for readers or
writers and never blocks them, and SQLite releases the GIL while it copies."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from urllib.parse import quote

log = logging.getLogger(__name__)

AUTOMATIC_PAGES = 10_000  # ~40 MB of log: only if the background checkpoints fall behind


def checkpoint(path: str) -> tuple[int, int, int]:
    """One passive checkpoint of the database at `path`, on a connection of its own opened and
    closed here, in the calling thread: (busy, pages in the log, pages checkpointed), as SQLite
    reports. Nothing is shared with another thread: a cancelled caller can stop awaiting while the
    thread finishes (a connection closed under a running checkpoint crashed the process). The file
    is opened read-write, never created (a database removed meanwhile is an error, not a new file)."""
    connection = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, isolation_level=None, timeout=0)
    try:
        busy, in_log, done = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(busy), int(in_log), int(done)
    finally:
        connection.close()


async def keep_checkpointed(path: str, interval: float = 1.0) -> None:
    """Checkpoint the database at `path` every `interval` seconds, in a worker thread, until
    cancelled. A failed round (the file being restored, a disk error) is logged and retried."""
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(checkpoint, path)
        except sqlite3.Error as exc:
            log.warning("WAL checkpoint of %s failed: %r", path, exc)
