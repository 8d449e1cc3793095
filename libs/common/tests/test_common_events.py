"""The event bus against a real nats-server: the relay keeps retrying until JetStream
acknowledges (rows survive a failed publish), duplicates are absorbed by JetStream's
Nats-Msg-Id window and by the consumer's inbox, and failing handlers end in dead letters."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from opentelemetry import context as otel_context
from opentelemetry import propagate
from sqlalchemy import func, select

from salesgrid.events.v1.identity_events_pb2 import UserState
from salesgrid_common.clock import FakeClock
from salesgrid_common.db import SessionFactory, create_engine, session_factory
from salesgrid_common.events.bus import JetStreamPublisher, connect, ensure_stream
from salesgrid_common.events.consumer import EventConsumer, Subscription, apply_once
from salesgrid_common.events.envelope import EventMeta, build_envelope, parse_envelope
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.events.relay import OutboxRelay
from salesgrid_common.events.tables import dead_letters, event_metadata, inbox, outbox
from salesgrid_dev.processes import NatsServer
from salesgrid_dev.testing import eventually, principal

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[SessionFactory]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'events.db'}"
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(event_metadata.create_all)
    yield session_factory(engine)
    await engine.dispose()


async def write_event(sessions: SessionFactory, box: Outbox, login: str) -> str:
    async with sessions() as session, session.begin():
        return await box.record(
            session,
            "salesgrid.identity.user.created",
            UserState(user_id=login, login=login),
            EventMeta(aggregate_id=login),
            NOW,
        )


async def test_relay_retries_until_jetstream_acknowledges(
    sessions: SessionFactory, nats_url: str, tmp_path: Path
) -> None:
    nc = await connect(nats_url, "relay-test")
    js = nc.jetstream()
    box = Outbox("identity")
    event_id = await write_event(sessions, box, "li.lei")
    relay = OutboxRelay(
        "identity",
        sessions,
        JetStreamPublisher(js, timeout=0.5),
        box.signal,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'events.db'}",
    )
    # No stream yet: JetStream cannot store the message, so the publish fails and the row stays.
    with pytest.raises(Exception):
        await relay.publish_pending()
    async with sessions() as session:
        row = (await session.execute(select(outbox).where(outbox.c.event_id == event_id))).one()
    assert row.published_at is None and row.attempts == 1 and row.last_error

    await ensure_stream(js, "identity", 1)
    assert await relay.publish_pending() == 1
    async with sessions() as session:
        assert (await session.scalar(select(outbox.c.published_at).where(outbox.c.event_id == event_id))) is not None
    info = await js.stream_info("SALESGRID_IDENTITY")
    assert info.state.messages == 1
    await nc.drain()


async def test_republishing_after_a_crash_is_deduplicated_by_jetstream(
    sessions: SessionFactory, nats_url: str, tmp_path: Path
) -> None:
    nc = await connect(nats_url, "dedup-test")
    js = nc.jetstream()
    await ensure_stream(js, "identity", 1)
    box = Outbox("identity")
    await write_event(sessions, box, "han.meimei")
    publisher = JetStreamPublisher(js)
    # Simulate a crash between JetStream's ack and the row being marked: publish by hand first.
    async with sessions() as session:
        row = (await session.execute(select(outbox))).one()
    await publisher.publish(row.subject, row.envelope, {"Nats-Msg-Id": row.event_id})
    relay = OutboxRelay(
        "identity", sessions, publisher, box.signal, database_url=f"sqlite+aiosqlite:///{tmp_path / 'events.db'}"
    )
    assert await relay.publish_pending() == 1
    assert (await js.stream_info("SALESGRID_IDENTITY")).state.messages == 1
    await nc.drain()


async def test_inbox_applies_each_event_once(sessions: SessionFactory) -> None:
    applied: list[str] = []

    async def handler(session, envelope, payload) -> None:  # type: ignore[no-untyped-def]
        applied.append(payload.login)

    envelope = build_envelope(
        "salesgrid.identity.user.created", "identity", UserState(login="zhang.san"), EventMeta(aggregate_id="u1"), NOW
    )
    payload = UserState(login="zhang.san")
    assert await apply_once(sessions, "customers-directory", envelope, handler, payload) is True
    assert await apply_once(sessions, "customers-directory", envelope, handler, payload) is False
    # Another consumer applies it independently.
    assert await apply_once(sessions, "pipeline-directory", envelope, handler, payload) is True
    assert applied == ["zhang.san", "zhang.san"]


async def test_handler_failure_rolls_back_its_inbox_row(sessions: SessionFactory) -> None:
    async def broken(session, envelope, payload) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    envelope = build_envelope(
        "salesgrid.identity.user.created", "identity", UserState(), EventMeta(aggregate_id="u1"), NOW
    )
    with pytest.raises(RuntimeError):
        await apply_once(sessions, "c-p", envelope, broken, UserState())
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(inbox)) == 0


async def test_poison_event_is_dead_lettered_after_bounded_redelivery(sessions: SessionFactory, nats_url: str) -> None:
    nc = await connect(nats_url, "dlq-test")
    js = nc.jetstream()
    await ensure_stream(js, "identity", 1)
    attempts: list[int] = []
    sub = Subscription(name="customers-test", producer="identity", max_deliver=3, backoff_seconds=(0.05, 0.05))

    @sub.on("salesgrid.identity.user.created", UserState)
    async def always_fails(session, envelope, payload) -> None:  # type: ignore[no-untyped-def]
        attempts.append(1)
        raise ValueError("cannot apply")

    envelope = build_envelope(
        "salesgrid.identity.user.created", "identity", UserState(login="x"), EventMeta(aggregate_id="u9"), NOW
    )
    await js.publish(envelope.type, envelope.SerializeToString(), headers={"Nats-Msg-Id": envelope.event_id})
    task = asyncio.create_task(EventConsumer(sub, js, sessions).run())

    async def dead() -> list:  # type: ignore[type-arg]
        async with sessions() as session:
            return (await session.execute(select(dead_letters))).all()

    rows = await eventually(dead, timeout=15)
    task.cancel()
    assert len(attempts) == 3
    assert rows[0].event_id == envelope.event_id and "cannot apply" in rows[0].error
    assert parse_envelope(rows[0].envelope).event_id == envelope.event_id
    await nc.drain()


async def test_the_relay_carries_the_recorded_trace_to_consumers(sessions: SessionFactory, tmp_path: Path) -> None:
    """The event recorded under a caller's trace is published with that trace id (and its id as
    Nats-Msg-Id), whether or not the relay records a span of its own."""
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    sent: list[dict[str, str]] = []

    class Capture:
        async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
            sent.append(headers)

    box = Outbox("identity")
    token = otel_context.attach(propagate.extract({"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}))
    try:
        event_id = await write_event(sessions, box, "wang.wu")
    finally:
        otel_context.detach(token)
    relay = OutboxRelay(
        "identity", sessions, Capture(), box.signal, database_url=f"sqlite+aiosqlite:///{tmp_path / 'events.db'}"
    )
    assert await relay.publish_pending() == 1
    assert sent[0]["Nats-Msg-Id"] == event_id
    assert sent[0]["traceparent"].split("-")[1] == trace_id


async def test_published_rows_are_kept_for_the_retention_then_deleted(
    sessions: SessionFactory, nats_url: str, tmp_path: Path
) -> None:
    nc = await connect(nats_url, "retention-test")
    js = nc.jetstream()
    await ensure_stream(js, "identity", 1)
    box = Outbox("identity")
    event_id = await write_event(sessions, box, "han.mei")
    clock = FakeClock(NOW)
    relay = OutboxRelay(
        "identity",
        sessions,
        JetStreamPublisher(js, timeout=2),
        box.signal,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'events.db'}",
        clock=clock,
        keep_published=timedelta(hours=72),  # ServiceSettings.outbox_retention_hours
    )
    assert await relay.publish_pending() == 1

    async def kept() -> bool:
        async with sessions() as session:
            return await session.scalar(select(func.count()).where(outbox.c.event_id == event_id)) == 1

    clock.advance(timedelta(hours=71))
    await relay._housekeeping()
    assert await kept()  # within the retention, on the relay's clock
    clock.advance(timedelta(hours=2))
    await relay._housekeeping()
    assert not await kept()
    await nc.drain()


async def test_a_consumer_started_while_nats_is_down_subscribes_once_it_is_back(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    """A service can start during a NATS outage (or a node's failover): its consumer keeps trying
    to subscribe instead of ending, and applies what is published once NATS answers."""
    server = NatsServer(tmp_path / "nats").start()
    nc = await connect(server.url, "outage-test")
    js = nc.jetstream(timeout=0.5)
    await ensure_stream(js, "identity", 1)
    server.stop()
    seen: list[str] = []
    sub = Subscription(name="customers-outage", producer="identity")

    @sub.on("salesgrid.identity.user.created", UserState)
    async def apply(session, envelope, user) -> None:  # type: ignore[no-untyped-def]
        seen.append(user.login)

    consumer = asyncio.create_task(EventConsumer(sub, js, sessions).run())
    try:
        await asyncio.sleep(1.5)  # its first attempts fail: nothing answers
        assert not consumer.done()
        server.start()  # the same port and data directory: the client reconnects
        box = Outbox("identity")
        await write_event(sessions, box, "wei.fang")
        relay = OutboxRelay(
            "identity",
            sessions,
            JetStreamPublisher(js, timeout=2.0),
            box.signal,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'events.db'}",
        )

        async def published() -> bool:
            try:
                return await relay.publish_pending() == 1
            except Exception:
                return False  # still reconnecting

        await eventually(published, timeout=20)

        async def applied() -> bool:
            return seen == ["wei.fang"]

        await eventually(applied, timeout=20)
        assert not consumer.done()
    finally:
        consumer.cancel()
        await asyncio.wait([consumer], timeout=3)
        await nc.close()
        server.discard()


async def test_record_by_names_the_event_after_its_producer_and_its_actor_after_the_caller(
    sessions: SessionFactory,
) -> None:
    box = Outbox("identity")
    rep = replace(principal("rep-7", "/c/sz/"), client_ip="10.0.0.7")
    async with sessions() as session, session.begin():
        await box.record_by(
            session, "user.updated", UserState(user_id="u1"), rep, aggregate_id="u1", org_path="/c/sz/", occurred_at=NOW
        )
        await box.record_by(
            session,
            "user.deactivated",
            UserState(user_id="u1"),
            None,
            aggregate_id="u1",
            org_path="/c/sz/",
            occurred_at=NOW,
        )
    async with sessions() as session:
        rows = (await session.execute(select(outbox.c.envelope).order_by(outbox.c.created_at, outbox.c.subject))).all()
    envelopes = sorted((parse_envelope(row.envelope) for row in rows), key=lambda e: e.aggregate_version)
    assert [(e.type, e.producer, e.actor_id, e.actor_ip, e.org_path, e.aggregate_version) for e in envelopes] == [
        ("salesgrid.identity.user.updated", "identity", "rep-7", "10.0.0.7", "/c/sz/", 1),
        ("salesgrid.identity.user.deactivated", "identity", "system:identity", "", "/c/sz/", 2),
    ]


async def test_record_new_by_names_a_batch_of_new_aggregates_after_the_producer_and_the_caller(
    sessions: SessionFactory,
) -> None:
    box = Outbox("customers")
    rep = replace(principal("rep-8", "/c/sz/"), client_ip="10.0.0.8")
    async with sessions() as session, session.begin():
        ids = await box.record_new_by(
            session,
            "customer.created",
            [(UserState(user_id="c1"), "c1", "/c/sz/a/"), (UserState(user_id="c2"), "c2", "/c/sz/b/")],
            rep,
            NOW,
        )
    async with sessions() as session:
        rows = (await session.execute(select(outbox.c.envelope))).all()
    envelopes = sorted((parse_envelope(row.envelope) for row in rows), key=lambda e: e.aggregate_id)
    assert sorted(ids) == sorted(e.event_id for e in envelopes)
    assert [
        (e.type, e.producer, e.aggregate_id, e.org_path, e.actor_id, e.actor_ip, e.aggregate_version) for e in envelopes
    ] == [
        ("salesgrid.customers.customer.created", "customers", "c1", "/c/sz/a/", "rep-8", "10.0.0.8", 1),
        ("salesgrid.customers.customer.created", "customers", "c2", "/c/sz/b/", "rep-8", "10.0.0.8", 1),
    ]
