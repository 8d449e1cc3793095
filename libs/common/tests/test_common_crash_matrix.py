"""A process dying at each point of the event pipeline, deterministically, on SQLite and
PostgreSQL against a real nats-server: after a crash and a restart every event ends applied
exactly once or in dead_letters, never lost and never applied twice.

A crash is simulated by `ProcessDied`, a BaseException nothing in the pipeline catches: the task
ends at that point without acking, nak'ing or committing anything further, as a kill -9 would
leave it (the open transaction rolls back like a dropped connection's)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from salesgrid.events.v1.identity_events_pb2 import UserState
from salesgrid_common.db import SessionFactory
from salesgrid_common.events.bus import JetStreamPublisher
from salesgrid_common.events.consumer import EventConsumer, Subscription
from salesgrid_common.events.dead_letters import replay_dead_letters
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.events.relay import OutboxRelay
from salesgrid_common.events.tables import dead_letters, outbox
from salesgrid_dev.testing import eventually

from common_event_harness import ProcessDied, run_until_settled, stop

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ACK_WAIT = 0.5
TYPE = "salesgrid.identity.user.created"

side = MetaData()
effects = Table(
    "effects",
    side,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("login", String(50), nullable=False),
)


@pytest.fixture
def side_tables() -> list[MetaData]:
    return [side]


async def write(sessions: SessionFactory, box: Outbox, logins: list[str]) -> None:
    for login in logins:
        async with sessions() as session, session.begin():
            await box.record(session, TYPE, UserState(user_id=login, login=login), EventMeta(aggregate_id=login), NOW)


def subscription(crash_in_handler: set[str] | None = None, max_deliver: int = 6) -> Subscription:
    sub = Subscription(name="customers-crashy", producer="identity", max_deliver=max_deliver, backoff_seconds=(0.05,))

    @sub.on(TYPE, UserState)
    async def apply(session, envelope, user) -> None:  # type: ignore[no-untyped-def]
        await session.execute(insert(effects).values(login=user.login))
        if crash_in_handler is not None and user.login in crash_in_handler:
            raise ProcessDied()  # dies inside the transaction: nothing of it commits

    return sub


async def run_until_dead(coro: Any) -> None:
    """Run a pipeline task until it 'dies' (ProcessDied), or for a moment if it does not."""
    task = asyncio.create_task(coro)
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=3)
    except ProcessDied:
        return
    except TimeoutError:
        await stop(task)
        raise AssertionError("the simulated crash did not happen") from None


async def applied_counts(sessions: SessionFactory) -> dict[str, int]:
    async with sessions() as session:
        rows = (await session.execute(select(effects.c.login, func.count()).group_by(effects.c.login))).all()
    return {login: count for login, count in rows}


async def settle(sessions: SessionFactory, js: Any, sub: Subscription, expected: set[str]) -> dict[str, int]:
    """Start a fresh consumer (the restarted process), wait until every expected login is
    applied and nothing is left in flight; returns how many times each login was applied."""

    async def all_applied() -> bool:
        return set(await applied_counts(sessions)) >= expected

    await run_until_settled(sessions, js, sub, all_applied, ack_wait=ACK_WAIT)
    return await applied_counts(sessions)


class CrashingPublisher(JetStreamPublisher):
    def __init__(self, js: Any, *, before: bool) -> None:
        super().__init__(js)
        self.before = before

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        if self.before:
            raise ProcessDied()  # committed in the outbox, never sent
        await super().publish(subject, payload, headers)
        raise ProcessDied()  # JetStream stored it; the row is never marked published


def relay(sessions: SessionFactory, url: str, publisher: Any, box: Outbox) -> OutboxRelay:
    return OutboxRelay("identity", sessions, publisher, box.signal, database_url=url)


@pytest.mark.parametrize("point", ["after commit, before publish", "after publish, before marking"])
async def test_relay_crash_loses_and_duplicates_nothing(
    sessions: SessionFactory, js: Any, database_url: str, point: str
) -> None:
    box = Outbox("identity")
    await write(sessions, box, ["a", "b", "c"])
    await run_until_dead(
        relay(
            sessions, database_url, CrashingPublisher(js, before=point.startswith("after commit")), box
        ).publish_pending()
    )
    # The restarted relay publishes everything; JetStream's Nats-Msg-Id window drops the resend
    # (the three rows were waiting together: one pack, the same one both times).
    assert await relay(sessions, database_url, JetStreamPublisher(js), box).publish_pending() == 3
    assert (await js.stream_info("SALESGRID_IDENTITY")).state.messages == 1
    assert await settle(sessions, js, subscription(), {"a", "b", "c"}) == {"a": 1, "b": 1, "c": 1}
    async with sessions() as session:
        assert (
            await session.scalar(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))) == 0
        )


async def test_consumer_crash_after_side_effect_before_ack_applies_once(
    sessions: SessionFactory, js: Any, database_url: str
) -> None:
    box = Outbox("identity")
    await write(sessions, box, ["a", "b"])
    await relay(sessions, database_url, JetStreamPublisher(js), box).publish_pending()

    class DiesBeforeAck(EventConsumer):
        async def _ack(self, msg: Any) -> None:
            raise ProcessDied()  # the handler's transaction committed; the ack never leaves

    await run_until_dead(DiesBeforeAck(subscription(), js, sessions, ack_wait=ACK_WAIT).run())
    committed = await applied_counts(sessions)  # "a" alone, or "a" and "b" if they came as one batch
    assert committed.get("a") == 1 and set(committed.values()) == {1}
    assert await settle(sessions, js, subscription(), {"a", "b"}) == {"a": 1, "b": 1}


async def test_consumer_crash_in_handler_before_commit_is_redelivered(
    sessions: SessionFactory, js: Any, database_url: str
) -> None:
    box = Outbox("identity")
    await write(sessions, box, ["a", "b"])
    await relay(sessions, database_url, JetStreamPublisher(js), box).publish_pending()
    await run_until_dead(EventConsumer(subscription({"a"}), js, sessions, ack_wait=ACK_WAIT).run())
    assert await applied_counts(sessions) == {}  # the dying transaction left nothing
    assert await settle(sessions, js, subscription(), {"a", "b"}) == {"a": 1, "b": 1}


async def test_crash_loop_past_max_delivery_ends_in_dead_letters_and_replays(
    sessions: SessionFactory, js: Any, database_url: str
) -> None:
    box = Outbox("identity")
    await write(sessions, box, ["poison", "fine"])
    await relay(sessions, database_url, JetStreamPublisher(js), box).publish_pending()
    # The process dies on "poison" every time it is delivered: three crashes in a row.
    for _ in range(3):
        await run_until_dead(
            EventConsumer(subscription({"poison"}, max_deliver=3), js, sessions, ack_wait=ACK_WAIT).run()
        )
    # The fourth delivery is past the bound: dead-lettered without running the handler again;
    # JetStream (unlimited redelivery) never drops it on its own.
    counts = await settle(sessions, js, subscription({"poison"}, max_deliver=3), {"fine"})
    assert counts == {"fine": 1}

    async def dead() -> list[Any]:
        async with sessions() as session:
            return (await session.execute(select(dead_letters))).all()

    rows = await eventually(dead, timeout=10)
    assert len(rows) == 1 and "without an outcome" in rows[0].error and rows[0].deliveries == 4
    info = await js.consumer_info("SALESGRID_IDENTITY", "customers-crashy")
    assert info.num_ack_pending == 0 and info.num_pending == 0

    # The operator fixes the cause and replays: applied once, the dead letter gone; a second
    # replay finds nothing.
    result = await replay_dead_letters(sessions, [subscription()])
    assert (result.applied, result.failed) == (1, 0)
    assert await applied_counts(sessions) == {"fine": 1, "poison": 1}
    assert await dead() == []
    assert (await replay_dead_letters(sessions, [subscription()])).applied == 0


async def test_after_a_kill_and_restart_projections_converge_within_five_seconds(
    sessions: SessionFactory, js: Any, database_url: str
) -> None:
    box = Outbox("identity")
    logins = [f"u{i}" for i in range(20)]
    await write(sessions, box, logins)
    await relay(sessions, database_url, JetStreamPublisher(js), box).publish_pending()
    # The process dies holding a whole batch (production ack_wait, 2 s); the restart follows at once.
    await run_until_dead(EventConsumer(subscription({"u0"}), js, sessions, batch=50).run())
    started = asyncio.get_running_loop().time()
    task = asyncio.create_task(EventConsumer(subscription(), js, sessions).run())
    try:

        async def converged() -> bool:
            return set(await applied_counts(sessions)) == set(logins)

        await eventually(converged, timeout=10, interval=0.02)
        assert asyncio.get_running_loop().time() - started < 5.0
        assert set((await applied_counts(sessions)).values()) == {1}
    finally:
        await stop(task)


async def test_a_slow_handler_is_kept_in_progress_not_redelivered(
    sessions: SessionFactory, js: Any, database_url: str
) -> None:
    box = Outbox("identity")
    await write(sessions, box, ["slow", "next"])
    await relay(sessions, database_url, JetStreamPublisher(js), box).publish_pending()
    calls: list[str] = []
    sub = Subscription(name="customers-slow", producer="identity", max_deliver=2)

    @sub.on(TYPE, UserState)
    async def slow(session, envelope, user) -> None:  # type: ignore[no-untyped-def]
        calls.append(user.login)
        if user.login == "slow":
            await asyncio.sleep(ACK_WAIT * 4)  # far past ack_wait: only heartbeats keep both in flight

    task = asyncio.create_task(EventConsumer(sub, js, sessions, ack_wait=ACK_WAIT).run())
    try:

        async def both() -> bool:
            return sorted(calls) == ["next", "slow"]

        await eventually(both, timeout=10)
        await asyncio.sleep(ACK_WAIT * 2)
        info = await js.consumer_info("SALESGRID_IDENTITY", "customers-slow")
        assert calls == ["slow", "next"] and info.num_redelivered == 0 and info.num_ack_pending == 0
    finally:
        await stop(task)


async def test_a_database_outage_in_a_handler_is_retried_not_dead_lettered(
    sessions: SessionFactory, js: Any, database_url: str
) -> None:
    from sqlalchemy.exc import OperationalError

    box = Outbox("identity")
    await write(sessions, box, ["a"])
    await relay(sessions, database_url, JetStreamPublisher(js), box).publish_pending()
    failures = [OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))] * 4
    sub = Subscription(name="customers-outage", producer="identity", max_deliver=2, backoff_seconds=(0.05,))

    @sub.on(TYPE, UserState)
    async def apply(session, envelope, user) -> None:  # type: ignore[no-untyped-def]
        if failures:
            raise failures.pop()  # four times in a row: more than max_deliver
        await session.execute(insert(effects).values(login=user.login))

    task = asyncio.create_task(EventConsumer(sub, js, sessions, ack_wait=ACK_WAIT).run())
    try:

        async def applied() -> bool:
            return await applied_counts(sessions) == {"a": 1}

        await eventually(applied, timeout=15)
        async with sessions() as session:
            assert await session.scalar(select(func.count()).select_from(dead_letters)) == 0
    finally:
        await stop(task)


def batch_subscription(failures: dict[str, int], sessions_seen: dict[str, set[int]]) -> Subscription:
    sub = Subscription(name="customers-batch", producer="identity", backoff_seconds=(0.05,))
    kept: list[Any] = []  # the sessions themselves stay alive, so no two share an id()

    @sub.on(TYPE, UserState)
    async def apply(session, envelope, user) -> None:  # type: ignore[no-untyped-def]
        kept.append(session)
        sessions_seen.setdefault(user.login, set()).add(id(session))
        await session.execute(insert(effects).values(login=user.login))
        if failures.get(user.login, 0) > 0:
            failures[user.login] -= 1
            raise RuntimeError("flaky handler")

    return sub


async def test_a_fetched_batch_shares_one_transaction_and_the_inbox_absorbs_it_again(
    sessions: SessionFactory, js: Any, database_url: str
) -> None:
    """First deliveries of one fetch are applied in one transaction (one session for all);
    delivered again (an ack lost), the inbox absorbs the whole batch without running a handler."""
    box = Outbox("identity")
    sessions_seen: dict[str, set[int]] = {}
    sub = batch_subscription({}, sessions_seen)
    await write(sessions, box, ["a", "b", "c"])
    await relay(sessions, database_url, JetStreamPublisher(js), box).publish_pending()
    assert await settle(sessions, js, sub, {"a", "b", "c"}) == {"a": 1, "b": 1, "c": 1}
    assert len(sessions_seen["a"] | sessions_seen["b"] | sessions_seen["c"]) == 1  # one transaction
    await js.delete_consumer("SALESGRID_IDENTITY", "customers-batch")
    assert await settle(sessions, js, sub, {"a", "b", "c"}) == {"a": 1, "b": 1, "c": 1}
    assert all(len(seen) == 1 for seen in sessions_seen.values())  # the handlers did not run again


async def test_a_failing_handler_sends_its_batch_one_by_one(
    sessions: SessionFactory, js: Any, database_url: str
) -> None:
    """A handler that raises rolls its batch back; the batch's events are then handled one by
    one, the failing one retried until it succeeds, each applied exactly once."""
    box = Outbox("identity")
    sessions_seen: dict[str, set[int]] = {}
    failures = {"flaky": 2}
    sub = batch_subscription(failures, sessions_seen)
    await write(sessions, box, ["d", "flaky", "e"])
    await relay(sessions, database_url, JetStreamPublisher(js), box).publish_pending()
    assert await settle(sessions, js, sub, {"d", "flaky", "e"}) == {"d": 1, "flaky": 1, "e": 1}
    assert failures["flaky"] == 0  # it failed twice (in the batch, then alone) before it was applied
    assert len(sessions_seen["d"]) == 2  # rolled back with its batch, then applied alone
