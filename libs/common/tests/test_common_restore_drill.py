"""Restore drill, on SQLite and PostgreSQL against a real nats-server: back up a service's
database while it produces and consumes events, keep writing, restore, restart. Its records are
the backup's; its projection again holds everything its streams said (what it consumed after the
backup is applied again, nothing twice); its next change to an aggregate is newer than anything
consumers kept; its outbox drains."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, update

from salesgrid.events.v1.identity_events_pb2 import UserState
from salesgrid_common.backup import after_restore, backup, prune, restore_database, rewind_consumers
from salesgrid_common.db import SessionFactory, create_engine, session_factory
from salesgrid_common.events.bus import JetStreamPublisher
from salesgrid_common.events.consumer import EventConsumer, Subscription
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.events.relay import OutboxRelay
from salesgrid_common.events.tables import event_metadata, outbox
from salesgrid_common.events.versions import claim_newer
from salesgrid_dev.testing import eventually

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
TYPE = "salesgrid.identity.user.updated"

own = MetaData()
users = Table("users", own, Column("login", String(50), primary_key=True), Column("name", String(50)))
mirror = Table("mirror", own, Column("login", String(50), primary_key=True), Column("name", String(50)))
applications = Table(
    "applications", own, Column("n", Integer, primary_key=True, autoincrement=True), Column("event_id", String(36))
)


class Service:
    def __init__(self, url: str, js: Any) -> None:
        self.url, self.js = url, js
        self.box = Outbox("identity")
        self.engine = create_engine(url)
        self.sessions: SessionFactory = session_factory(self.engine)
        self.tasks: list[asyncio.Task[None]] = []

    async def create(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(event_metadata.create_all)
            await conn.run_sync(own.create_all)

    def start(self) -> None:
        sub = Subscription(name="identity-mirror", producer="identity")

        @sub.on(TYPE, UserState)
        async def keep(session, envelope, user) -> None:  # type: ignore[no-untyped-def]
            await session.execute(insert(applications).values(event_id=envelope.event_id))
            if await claim_newer(session, sub.name, user.login, envelope):
                await session.execute(mirror.delete().where(mirror.c.login == user.login))
                await session.execute(insert(mirror).values(login=user.login, name=user.display_name))

        relay = OutboxRelay(
            "identity", self.sessions, JetStreamPublisher(self.js), self.box.signal, database_url=self.url
        )
        self.tasks = [
            asyncio.create_task(relay.run()),
            asyncio.create_task(EventConsumer(sub, self.js, self.sessions, ack_wait=1.0).run()),
        ]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.wait(self.tasks, timeout=3)
        await self.engine.dispose()

    async def write(self, login: str, name: str) -> None:
        async with self.sessions() as session, session.begin():
            if await session.scalar(select(users.c.login).where(users.c.login == login)) is None:
                await session.execute(insert(users).values(login=login, name=name))
            else:
                await session.execute(update(users).where(users.c.login == login).values(name=name))
            await self.box.record(
                session,
                TYPE,
                UserState(user_id=login, login=login, display_name=name),
                EventMeta(aggregate_id=login),
                NOW,
            )

    async def table(self, table: Table) -> dict[str, str]:
        async with self.sessions() as session:
            return dict((await session.execute(select(table.c.login, table.c.name))).all())

    async def settled(self, expected_mirror: dict[str, str]) -> bool:
        async with self.sessions() as session:
            pending = await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        return pending == 0 and await self.table(mirror) == expected_mirror


async def test_restore_drill(database_url: str, js: Any, tmp_path: Path) -> None:
    service = Service(database_url, js)
    await service.create()
    service.start()
    for i in range(1, 6):
        await service.write(f"u{i}", "first")
    await eventually(lambda: service.settled({f"u{i}": "first" for i in range(1, 6)}), timeout=15)

    backup_file = await asyncio.to_thread(backup, database_url, tmp_path / "backups", "identity")
    records_at_backup = await service.table(users)

    await service.write("u1", "after backup")
    await service.write("u6", "first")
    streams_say = {**{f"u{i}": "first" for i in range(2, 7)}, "u1": "after backup"}
    await eventually(lambda: service.settled(streams_say), timeout=15)
    await service.stop()

    # The restore procedure: database, versions, consumer positions (the service is stopped).
    await asyncio.to_thread(restore_database, database_url, backup_file)
    service = Service(database_url, js)
    await after_restore(service.engine)
    assert await rewind_consumers(js, "identity") == ["identity-mirror"]
    assert await service.table(users) == records_at_backup  # every record as backed up

    service.start()
    try:
        # The projection again holds everything the stream said, each event applied once.
        await eventually(lambda: service.settled(streams_say), timeout=15)
        # The next change of u1 is newer than the "after backup" state the projection kept.
        await service.write("u1", "after restore")
        await eventually(lambda: service.settled({**streams_say, "u1": "after restore"}), timeout=15)
        async with service.sessions() as session:
            applied = list(await session.scalars(select(applications.c.event_id)))
        assert len(applied) == len(set(applied)) == 8  # 5 + 2 + 1 events, none twice
    finally:
        await service.stop()


def test_backup_retention_keeps_the_newest(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'svc.db'}"
    import sqlite3

    sqlite3.connect(tmp_path / "svc.db").close()
    made = [backup(url, tmp_path / "b", "svc", keep=3, now=datetime(2026, 12, day, tzinfo=UTC)) for day in range(1, 6)]
    assert sorted((tmp_path / "b").iterdir()) == made[-3:]
    assert prune(tmp_path / "b", "svc", keep=1) == made[-3:-1]
