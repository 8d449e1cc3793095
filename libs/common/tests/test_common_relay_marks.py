"""The running relay (OutboxRelay.run) on SQLite marks a batch JetStream acknowledged in the
transaction that reads the next one: each row is still published once, marked by the next wake-up
or a graceful stop, and a process killed before marking publishes it again into JetStream's
duplicate window, applied once by consumers. On PostgreSQL it marks at once; the same holds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from salesgrid.events.v1.identity_events_pb2 import UserState
from salesgrid_common.db import SessionFactory
from salesgrid_common.events.bus import JetStreamPublisher
from salesgrid_common.events.consumer import Subscription
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox, OutboxSignal
from salesgrid_common.events.relay import OutboxRelay
from salesgrid_common.events.tables import outbox
from salesgrid_dev.testing import eventually
from common_event_harness import ProcessDied, run_until_settled

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TYPE = "salesgrid.identity.user.created"

side = MetaData()
effects = Table(
    "relay_mark_effects",
    side,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("login", String(50), nullable=False),
)


@pytest.fixture
def side_tables() -> list[MetaData]:
    return [side]


async def write(sessions: SessionFactory, box: Outbox, login: str) -> None:
    async with sessions() as session, session.begin():
        await box.record(session, TYPE, UserState(user_id=login, login=login), EventMeta(aggregate_id=login), NOW)


async def unmarked(sessions: SessionFactory) -> int:
    async with sessions() as session:
        return int(
            await session.scalar(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))) or 0
        )


async def messages(js: Any) -> int:
    return int((await js.stream_info("SALESGRID_IDENTITY")).state.messages)


async def test_the_running_relay_publishes_each_row_once_and_marks_it_by_the_next_wake_or_stop(
    sessions: SessionFactory, js: Any, database_url: str
) -> None:
    signal = Watched()
    box = Outbox("identity", signal)
    relay = OutboxRelay("identity", sessions, JetStreamPublisher(js), signal, database_url=database_url)
    task = asyncio.create_task(relay.run())
    try:
        await write(sessions, box, "a")
        await eventually(lambda: messages(js), timeout=10)
        await write(sessions, box, "b")  # wakes the relay: "a" is marked as "b" is read

        async def a_marked_b_sent() -> bool:
            async with sessions() as session:
                a = await session.scalar(select(outbox.c.published_at).order_by(outbox.c.event_id).limit(1))
            # and the relay waits again: done with "b" (on PostgreSQL, marked with its publish)
            return a is not None and await messages(js) == 2 and signal.idle

        await eventually(a_marked_b_sent, timeout=10)
    finally:
        task.cancel()
        await asyncio.wait([task], timeout=5)
    assert await unmarked(sessions) == 0  # the stop marked what was left for the next read
    assert await messages(js) == 2


class Watched(OutboxSignal):
    """Tells whether the relay is waiting for the next commit (between batches)."""

    idle = False

    async def wait(self, timeout: float) -> None:
        self.idle = True
        try:
            await super().wait(timeout)
        finally:
            self.idle = False


class DiesWhileIdle(OutboxSignal):
    """kill -9 while the relay waits for the next commit (after its last publish)."""

    async def wait(self, timeout: float) -> None:
        raise ProcessDied()


async def test_a_relay_killed_before_marking_publishes_again_into_the_duplicate_window(
    sessions: SessionFactory, js: Any, database_url: str
) -> None:
    box = Outbox("identity")
    await write(sessions, box, "a")
    dying = OutboxRelay("identity", sessions, JetStreamPublisher(js), DiesWhileIdle(), database_url=database_url)
    with pytest.raises(ProcessDied):
        await dying.run()
    assert await messages(js) == 1
    # The restarted relay publishes whatever is not marked; JetStream drops the resend.
    restarted = OutboxRelay("identity", sessions, JetStreamPublisher(js), box.signal, database_url=database_url)
    await restarted.publish_pending()
    assert await unmarked(sessions) == 0 and await messages(js) == 1

    sub = Subscription(name="customers-relay-marks", producer="identity", backoff_seconds=(0.05,))

    @sub.on(TYPE, UserState)
    async def apply(session, envelope, user) -> None:  # type: ignore[no-untyped-def]
        await session.execute(insert(effects).values(login=user.login))

    async def applied() -> bool:
        async with sessions() as session:
            return bool(await session.scalar(select(func.count()).select_from(effects)))

    await run_until_settled(sessions, js, sub, applied, ack_wait=0.5)
    async with sessions() as session:
        assert (await session.execute(select(effects.c.login))).scalars().all() == ["a"]
