"""Online backups of a service's database and a restore consistent with its event streams.

Backup: SQLite through its online backup API (a consistent copy while the service writes);
PostgreSQL with `pg_dump -Fc`. Files are `<service>-<UTC time>.<db|dump>` in one directory; the
newest `keep` are kept.

Restore (the service stopped), then three steps keep the event pipeline exact:
1. Outbox: rows the backup holds unpublished are published again by the relay; consumers' inbox
   absorbs any that were already delivered (same event id), so nothing is applied twice.
2. Aggregate versions jump by RESTORE_VERSION_JUMP: changes made after the backup are lost with
   it, but consumers saw their versions; the next change of such an aggregate must still be
   newer than anything they kept (see events.versions).
3. Consumer positions: the restored inbox forgets what was applied after the backup while
   JetStream remembers it acknowledged, so the service's durable consumers are deleted; they are
   recreated on start from the beginning of each stream, and the inbox skips what the restored
   database already has and applies the rest exactly once."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from salesgrid_common.db import is_sqlite
from salesgrid_common.events.tables import aggregate_versions

RESTORE_VERSION_JUMP = 1_000_000


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database:
        raise ValueError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _pg_args(url: str) -> tuple[list[str], dict[str, str]]:
    parsed = make_url(url)
    args = ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres"]
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    return args, env


def backup(database_url: str, directory: Path, service: str, keep: int = 7, now: datetime | None = None) -> Path:
    """Write one backup file and prune older ones beyond `keep`; returns the new file."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    if is_sqlite(database_url):
        target = directory / f"{service}-{stamp}.db"
        with sqlite3.connect(_sqlite_path(database_url)) as source, sqlite3.connect(target) as copy:
            source.backup(copy)  # online: a consistent snapshot while writers go on
        copy.close()
        source.close()
    else:
        target = directory / f"{service}-{stamp}.dump"
        args, env = _pg_args(database_url)
        subprocess.run(
            [_pg_tool("pg_dump"), *args, "-Fc", "-f", str(target), make_url(database_url).database or ""],
            check=True,
            env={**os.environ, **env},
            capture_output=True,
        )
    prune(directory, service, keep)
    return target


def prune(directory: Path, service: str, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups of `service`; returns what was deleted."""
    files = sorted(list(directory.glob(f"{service}-*.db")) + list(directory.glob(f"{service}-*.dump")))
    doomed = files[:-keep] if keep > 0 else []
    for path in doomed:
        path.unlink()
    return doomed


def restore_database(database_url: str, backup_file: Path) -> None:
    """Replace the database with the backup (the service must be stopped)."""
    if is_sqlite(database_url):
        path = _sqlite_path(database_url)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        with sqlite3.connect(backup_file) as source, sqlite3.connect(path) as target:
            source.backup(target)
        source.close()
        target.close()
        return
    args, env = _pg_args(database_url)
    subprocess.run(
        [
            _pg_tool("pg_restore"),
            *args,
            "--clean",
            "--if-exists",
            "--no-owner",
            "-d",
            make_url(database_url).database or "",
            str(backup_file),
        ],
        check=True,
        env={**os.environ, **env},
        capture_output=True,
    )


async def after_restore(engine: AsyncEngine) -> None:
    """Step 2 of the module text: versions of every aggregate jump past anything published."""
    async with engine.begin() as conn:
        await conn.execute(
            update(aggregate_versions).values(version=aggregate_versions.c.version + RESTORE_VERSION_JUMP)
        )


async def rewind_consumers(js, service: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Step 3: delete the service's durable consumers on every stream; returns their names."""
    deleted = []
    for stream in await js.streams_info():
        for consumer in await js.consumers_info(stream.config.name):
            if consumer.name.startswith(f"{service}-"):
                await js.delete_consumer(stream.config.name, consumer.name)
                deleted.append(consumer.name)
    return deleted


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise RuntimeError(f"{name} not found: install the PostgreSQL client tools")
