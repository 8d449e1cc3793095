"""Set-based handlers (events.batches, Subscription.on_batch) against a real nats-server, on
SQLite and PostgreSQL: a fetched batch's runs of consecutive events go to the batch form in the
order fetched (order across types kept), each event is applied exactly once (the inbox absorbs a
redelivered batch and an event published twice), a failing batch form sends the batch one by one
through the single handler, and a process dying inside it loses and duplicates nothing."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.identity_events_pb2 import UserState
from salesgrid_common.db import SessionFactory
from salesgrid_common.events.batches import Item, claim_newer_many, newest_per_key, runs
from salesgrid_common.events.consumer import EventConsumer, Subscription
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_common.events.tables import projection_versions
from salesgrid_common.events.versions import claim_newer

from salesgrid_dev.testing import eventually

from common_event_harness import ProcessDied, run_until_settled

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
CREATED = "salesgrid.identity.user.created"
UPDATED = "salesgrid.identity.user.updated"

side = MetaData()
effects = Table(
    "batch_effects",
    side,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("login", String(50), nullable=False),
    Column("how", String(10), nullable=False),
)


@pytest.fixture
def side_tables() -> list[MetaData]:
    return [side]


def event(event_type: str, login: str, version: int = 1) -> Envelope:
    user = UserState(user_id=login, login=login)
    return build_envelope(event_type, "identity", user, EventMeta(aggregate_id=login), NOW, version)


def created(login: str) -> Envelope:
    return event(CREATED, login)


async def publish(js: Any, envelopes: list[Envelope], *, dedup: bool = True) -> None:
    for envelope in envelopes:
        headers = {"Nats-Msg-Id": envelope.event_id} if dedup else None
        await js.publish(envelope.type, envelope.SerializeToString(), headers=headers)


class Recorder:
    """A subscription whose `created` handler has a batch form and whose `updated` one has not;
    every application is a row of batch_effects (login, how), in the order applied."""

    def __init__(self, fail_batch: set[str] | None = None, die_in_batch: set[str] | None = None) -> None:
        self.calls: list[list[str]] = []  # the logins of each call of the batch form
        self.sub = Subscription(name="customers-batched", producer="identity", backoff_seconds=(0.05,))
        fail_batch = fail_batch or set()
        die_in_batch = die_in_batch or set()

        async def single(session, envelope, user) -> None:  # type: ignore[no-untyped-def]
            await session.execute(insert(effects).values(login=user.login, how="single"))

        async def many(session, items: list[Item]) -> None:  # type: ignore[no-untyped-def]
            logins = [user.login for _, user in items]
            self.calls.append(logins)
            await session.execute(insert(effects), [{"login": login, "how": "batch"} for login in logins])
            if fail_batch & set(logins):
                raise RuntimeError("batch form failed")
            if die_in_batch & set(logins):
                raise ProcessDied()

        self.sub.on(CREATED, UserState)(single)
        self.sub.on_batch(CREATED)(many)
        self.sub.on(UPDATED, UserState)(single)


async def applied(sessions: SessionFactory) -> list[tuple[str, str]]:
    async with sessions() as session:
        return [(row.login, row.how) for row in await session.execute(select(effects).order_by(effects.c.n))]


async def settle(sessions: SessionFactory, js: Any, sub: Subscription, count: int) -> list[tuple[str, str]]:
    """Run a consumer (a fresh process) until `count` applications are stored and nothing is in flight."""

    async def stored() -> bool:
        return len(await applied(sessions)) >= count

    await run_until_settled(sessions, js, sub, stored, ack_wait=0.5)
    return await applied(sessions)


async def test_runs_go_to_the_batch_form_in_the_order_fetched(sessions: SessionFactory, js: Any) -> None:
    """created a, b | updated u | created c, d: two calls of the batch form around the single
    handler of `updated`, applied in the order published."""
    recorder = Recorder()
    await publish(js, [event(CREATED, "a"), event(CREATED, "b"), event(UPDATED, "u"), *map(created, "cd")])
    assert await settle(sessions, js, recorder.sub, 5) == [
        ("a", "batch"),
        ("b", "batch"),
        ("u", "single"),
        ("c", "batch"),
        ("d", "batch"),
    ]
    assert recorder.calls == [["a", "b"], ["c", "d"]]


async def test_each_event_is_applied_once_by_the_batch_form(sessions: SessionFactory, js: Any) -> None:
    """An event published twice (no JetStream dedup) reaches the batch form once; the same batch
    delivered again (its acks lost: a new consumer) is absorbed by the inbox without a call."""
    recorder = Recorder()
    twice = created("e")
    await publish(js, [twice, created("f"), twice], dedup=False)
    assert await settle(sessions, js, recorder.sub, 2) == [("e", "batch"), ("f", "batch")]
    assert recorder.calls == [["e", "f"]]
    await js.delete_consumer("SALESGRID_IDENTITY", recorder.sub.name)
    await asyncio.sleep(0.5)
    assert await settle(sessions, js, recorder.sub, 2) == [("e", "batch"), ("f", "batch")]
    assert recorder.calls == [["e", "f"]]


async def test_a_failing_batch_form_sends_the_batch_one_by_one(sessions: SessionFactory, js: Any) -> None:
    """The batch form's writes roll back with the batch; every event is then applied once, in
    order, by the single handlers."""
    recorder = Recorder(fail_batch={"h"})
    await publish(js, [created("g"), created("h"), event(UPDATED, "v"), created("i")])
    assert await settle(sessions, js, recorder.sub, 4) == [
        ("g", "single"),
        ("h", "single"),
        ("v", "single"),
        ("i", "single"),
    ]
    assert recorder.calls == [["g", "h"]]  # the batch stopped at the failure


async def test_a_process_dying_in_the_batch_form_loses_and_duplicates_nothing(
    sessions: SessionFactory, js: Any
) -> None:
    dying = Recorder(die_in_batch={"k"})
    await publish(js, [created("j"), created("k"), created("l")])
    task = asyncio.create_task(EventConsumer(dying.sub, js, sessions, ack_wait=0.5, batch=10).run())
    with pytest.raises(ProcessDied):
        await asyncio.wait_for(task, timeout=5)
    assert await applied(sessions) == []  # nothing of the batch committed
    # The restart gets them back as redeliveries: counted, and applied one by one.
    assert sorted(await settle(sessions, js, Recorder().sub, 3)) == [("j", "single"), ("k", "single"), ("l", "single")]


@pytest.mark.parametrize("linger", [0.6, 0.0])
async def test_events_committed_while_a_caught_up_consumer_lingers_arrive_as_one_batch(
    sessions: SessionFactory, js: Any, linger: float
) -> None:
    """After a batch smaller than a full one the consumer waits `linger` before fetching again, so
    events published one after another meanwhile come as one batch (one transaction, one call of
    the batch form); with no linger each is fetched as soon as it is there."""
    recorder = Recorder()
    task = asyncio.create_task(EventConsumer(recorder.sub, js, sessions, ack_wait=0.5, batch=10, linger=linger).run())
    try:
        await publish(js, [created("m")])
        await eventually(lambda: _stored(sessions, 1), timeout=10)
        for login in "nop":  # one at a time, as separate requests would commit them
            await publish(js, [created(login)])
            await asyncio.sleep(0.05)
        await eventually(lambda: _stored(sessions, 4), timeout=10)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert [login for login, _ in await applied(sessions)] == list("mnop")  # in order, each once
    if linger:
        assert recorder.calls == [["n", "o", "p"]]  # m alone went the single way
    else:
        assert ["n", "o", "p"] not in recorder.calls  # fetched as they came, not gathered


async def _stored(sessions: SessionFactory, count: int) -> bool:
    return len(await applied(sessions)) >= count


def test_a_batch_form_needs_its_handler_and_follows_the_route() -> None:
    sub = Subscription(name="customers-routes", producer="identity")
    with pytest.raises(ValueError):
        sub.on_batch(CREATED)

    async def single(session, envelope, payload) -> None:  # type: ignore[no-untyped-def]
        return None

    async def many(session, items) -> None:  # type: ignore[no-untyped-def]
        return None

    sub.on(CREATED, UserState)(single)
    sub.on_any(single)
    sub.on_any_batch(many)
    # created has its own handler without a batch form: the wildcard's batch form is not its.
    assert sub.batch_route(CREATED) is None
    assert sub.batch_route(UPDATED) is many
    assert [(k, len(v)) for k, v in runs([1, 1, 2, 1], lambda x: {1: "odd", 2: "even"}[x])] == [
        ("odd", 2),
        ("even", 1),
        ("odd", 1),
    ]


async def test_claim_newer_many_claims_what_claim_newer_would(sessions: SessionFactory) -> None:
    """Against a projection holding a@3: a run a@2, a@5, b@1, b@1 claims a (at 5) and b (at 1),
    as claim_newer applied in turn would leave them; a run with an unversioned event is None."""
    async with sessions() as session, session.begin():
        assert await claim_newer(session, "p", "a", event(CREATED, "a", 3))
    run = [
        (event(CREATED, login, version), UserState(login=login))
        for login, version in [("a", 2), ("a", 5), ("b", 1), ("b", 1)]
    ]
    newest = newest_per_key(run, lambda user: user.login)
    assert newest is not None and {k: e.aggregate_version for k, (e, _) in newest.items()} == {"a": 5, "b": 1}
    async with sessions() as session, session.begin():
        assert sorted(await claim_newer_many(session, "p", newest)) == ["a", "b"]
        assert sorted(await claim_newer_many(session, "p", newest)) == []  # not newer any more
    async with sessions() as session:
        stored = dict((await session.execute(select(projection_versions.c.key, projection_versions.c.version))).all())
    assert stored == {"a": 5, "b": 1}
    assert newest_per_key([(event(CREATED, "c", 0), UserState(login="c"))], lambda user: user.login) is None
