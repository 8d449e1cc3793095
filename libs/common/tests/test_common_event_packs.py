"""Packs (events.packs): the relay sends consecutive waiting rows of one subject as one JetStream
message, and consumers handle its events as if each had come alone -- on SQLite and PostgreSQL
against a real nats-server. The encoding, the relay's cuts (subject change, bound), the batch
forms fed from packs, exactly-once per event however the rows were packed or redelivered, and a
poison event in a pack dead-lettered alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from google.protobuf.message import DecodeError
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from salesgrid.events.v1.identity_events_pb2 import UserState
from salesgrid_common.db import SessionFactory
from salesgrid_common.events.batches import Item
from salesgrid_common.events.bus import JetStreamPublisher
from salesgrid_common.events.consumer import Subscription
from salesgrid_common.events.dead_letters import replay_dead_letters
from salesgrid_common.events.exactly_once import trace_carrier
from salesgrid_common.events.envelope import EventMeta, build_envelope, parse_envelope
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.events.packs import (
    PACK_HEADER,
    chunks,
    decode_pack,
    encode_pack,
    events_of,
    group_rows,
    is_pack,
    pack_id,
)
from salesgrid_common.events.relay import OutboxRelay
from salesgrid_common.events.tables import dead_letters, delivery_attempts, outbox

from common_event_harness import run_until_settled

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
CREATED = "salesgrid.identity.user.created"
UPDATED = "salesgrid.identity.user.updated"
STREAM = "SALESGRID_IDENTITY"

side = MetaData()
effects = Table(
    "pack_effects",
    side,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("login", String(50), nullable=False),
    Column("how", String(10), nullable=False),
)


@pytest.fixture
def side_tables() -> list[MetaData]:
    return [side]


def envelope_bytes(event_type: str, login: str) -> bytes:
    user = UserState(user_id=login, login=login)
    return build_envelope(event_type, "identity", user, EventMeta(aggregate_id=login), NOW, 1).SerializeToString()


# -- the encoding --------------------------------------------------------------------------------


def test_a_pack_round_trips_and_an_envelope_reader_refuses_it_loudly() -> None:
    first, second = envelope_bytes(CREATED, "a"), envelope_bytes(CREATED, "b")
    traced = {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01", "tracestate": "k=v"}
    pack = encode_pack([(first, traced), (second, {})])
    assert is_pack(pack) and not is_pack(first)
    assert [(e.data, e.headers) for e in decode_pack(pack)] == [(first, traced), (second, {})]
    assert events_of(pack) == [first, second] and events_of(first) == [first]
    # A consumer's span continues each event's own publish span (its entry's carrier), else the
    # recording span's (the envelope's, when no span was exported).
    one, two = decode_pack(pack)
    assert trace_carrier(one, parse_envelope(first)) == traced
    assert trace_carrier(two, parse_envelope(second)) == dict(parse_envelope(second).trace_context)
    # A reader that knows only envelopes fails on a pack instead of reading something else.
    with pytest.raises((DecodeError, ValueError)):
        parse_envelope(pack)
    for broken in (pack[:-3], pack[:12], encode_pack([])):
        with pytest.raises(ValueError):
            decode_pack(broken)


def test_a_pack_id_is_the_same_for_the_same_events_only() -> None:
    assert pack_id(["e1", "e2"]) == pack_id(["e1", "e2"])
    assert len({pack_id(["e1", "e2"]), pack_id(["e1", "e3"]), pack_id(["e1"]), pack_id(["e2", "e1"])}) == 4


def test_rows_are_cut_at_subject_changes_and_at_either_bound() -> None:
    rows = [("s1", 10)] * 5 + [("s2", 10)] * 2 + [("s1", 10)]

    def cut(**bounds: int) -> list[list[str]]:
        return [[s for s, _ in pack] for pack in group_rows(rows, lambda r: r[0], lambda r: r[1], **bounds)]

    assert [len(p) for p in cut(max_events=100, max_bytes=10**6)] == [5, 2, 1]
    assert [len(p) for p in cut(max_events=2, max_bytes=10**6)] == [2, 2, 1, 2, 1]
    assert [len(p) for p in cut(max_events=100, max_bytes=2 * (10 + 6 + 128) + 10)] == [2, 2, 1, 2, 1]
    assert [len(p) for p in cut(max_events=1, max_bytes=10**6)] == [1] * 8
    assert [len(p) for p in chunks([("m1", 3), ("m2", 3), ("m3", 5), ("m4", 1)], lambda m: m[1], 6)] == [2, 2]


# -- the relay -----------------------------------------------------------------------------------


async def write(sessions: SessionFactory, box: Outbox, events: list[tuple[str, str]]) -> list[str]:
    ids = []
    for event_type, login in events:
        async with sessions() as session, session.begin():
            user = UserState(user_id=login, login=login)
            ids.append(await box.record(session, event_type, user, EventMeta(aggregate_id=login), NOW))
    return ids


def relay(sessions: SessionFactory, url: str, js: Any, box: Outbox, pack_events: int = 100) -> OutboxRelay:
    return OutboxRelay(
        "identity", sessions, JetStreamPublisher(js), box.signal, database_url=url, pack_events=pack_events
    )


async def stored_messages(js: Any) -> list[Any]:
    last = (await js.stream_info(STREAM)).state.last_seq
    return [await js.get_msg(STREAM, seq) for seq in range(1, last + 1)]


async def test_the_relay_packs_waiting_rows_of_one_subject_and_cuts_at_changes_and_the_bound(
    sessions: SessionFactory, js: Any, database_url: str
) -> None:
    box = Outbox("identity")
    ids = await write(sessions, box, [(CREATED, f"c{i}") for i in range(5)] + [(UPDATED, "u1"), (UPDATED, "u2")])
    [lone] = await write(sessions, box, [(CREATED, "z")])
    assert await relay(sessions, database_url, js, box, pack_events=3).publish_pending() == 8
    messages = await stored_messages(js)
    shapes = [(m.subject, len(events_of(m.data)), is_pack(m.data)) for m in messages]
    assert shapes == [(CREATED, 3, True), (CREATED, 2, True), (UPDATED, 2, True), (CREATED, 1, False)]
    carried = [parse_envelope(data).event_id for m in messages for data in events_of(m.data)]
    assert carried == [*ids, lone]  # in outbox order, each once
    assert messages[0].headers["Nats-Msg-Id"] == pack_id(ids[:3]) and messages[0].headers[PACK_HEADER] == "3"
    assert messages[3].headers["Nats-Msg-Id"] == lone  # a lone row: a plain message, as before packs


class FailsOnSubject(JetStreamPublisher):
    def __init__(self, js: Any, subject: str) -> None:
        super().__init__(js)
        self.subject = subject

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        if subject == self.subject:
            raise ConnectionError("no acknowledgement")
        await super().publish(subject, payload, headers)


async def test_rows_are_marked_only_for_packs_acknowledged_before_a_failed_one(
    sessions: SessionFactory, js: Any, database_url: str
) -> None:
    box = Outbox("identity")
    ids = await write(sessions, box, [(CREATED, "c1"), (CREATED, "c2"), (UPDATED, "u1"), (CREATED, "c3")])
    failing = OutboxRelay("identity", sessions, FailsOnSubject(js, UPDATED), box.signal, database_url=database_url)
    with pytest.raises(ConnectionError):
        await failing.publish_pending()
    async with sessions() as session:
        rows = {r.event_id: r for r in (await session.execute(select(outbox))).all()}
    assert [rows[i].published_at is not None for i in ids] == [True, True, False, False]
    assert rows[ids[2]].attempts == 1  # the first row of the failed pack carries the error
    assert await relay(sessions, database_url, js, box).publish_pending() == 2
    carried = [parse_envelope(data).event_id for m in await stored_messages(js) for data in events_of(m.data)]
    # c3 was stored by the failed round and caught by the duplicate window when sent again.
    assert carried == [ids[0], ids[1], ids[3], ids[2]]


# -- consumers -----------------------------------------------------------------------------------


class Recorder:
    """`created` has a batch form, `updated` has not; every application is a pack_effects row.
    `poison` logins always fail; `flaky` ones fail once."""

    def __init__(self, poison: set[str] = frozenset(), flaky: set[str] = frozenset(), max_deliver: int = 6) -> None:  # type: ignore[assignment]
        self.calls: list[list[str]] = []
        self.singles: list[str] = []  # the logins the single handler was called with
        self.flaky = set(flaky)
        self.sub = Subscription(
            name="customers-packed", producer="identity", max_deliver=max_deliver, backoff_seconds=(0.05,)
        )

        async def single(session, envelope, user) -> None:  # type: ignore[no-untyped-def]
            self.singles.append(user.login)
            if user.login in poison:
                raise RuntimeError(f"cannot apply {user.login}")
            if user.login in self.flaky:
                self.flaky.discard(user.login)
                raise RuntimeError(f"{user.login} failed once")
            await session.execute(insert(effects).values(login=user.login, how="single"))

        async def many(session, items: list[Item]) -> None:  # type: ignore[no-untyped-def]
            logins = [user.login for _, user in items]
            self.calls.append(logins)
            if (poison | self.flaky) & set(logins):
                raise RuntimeError("batch form failed")
            await session.execute(insert(effects), [{"login": login, "how": "batch"} for login in logins])

        self.sub.on(CREATED, UserState)(single)
        self.sub.on_batch(CREATED)(many)
        self.sub.on(UPDATED, UserState)(single)


async def applied(sessions: SessionFactory) -> list[tuple[str, str]]:
    async with sessions() as session:
        return [(row.login, row.how) for row in await session.execute(select(effects).order_by(effects.c.n))]


async def settle(sessions: SessionFactory, js: Any, sub: Subscription, count: int) -> list[tuple[str, str]]:
    async def stored() -> bool:
        return len(await applied(sessions)) >= count

    await run_until_settled(sessions, js, sub, stored, ack_wait=0.5)
    return await applied(sessions)


async def test_a_packs_events_reach_the_batch_forms_as_if_each_had_come_alone(
    sessions: SessionFactory, js: Any, database_url: str
) -> None:
    box = Outbox("identity")
    await write(sessions, box, [(CREATED, "a"), (CREATED, "b"), (CREATED, "c"), (UPDATED, "u"), (CREATED, "d")])
    await relay(sessions, database_url, js, box).publish_pending()
    assert len(await stored_messages(js)) == 3  # [a b c] [u] [d]
    recorder = Recorder()
    assert await settle(sessions, js, recorder.sub, 5) == [
        ("a", "batch"),
        ("b", "batch"),
        ("c", "batch"),
        ("u", "single"),
        ("d", "batch"),
    ]
    assert recorder.calls == [["a", "b", "c"], ["d"]]


async def test_events_packed_again_or_redelivered_are_applied_once(
    sessions: SessionFactory, js: Any, database_url: str
) -> None:
    """A relay that crashed before marking re-packs the rows differently (other Nats-Msg-Ids, so
    JetStream stores them again) and a pack outlives the duplicate window: the inbox absorbs
    every event seen before, whether it comes fresh or redelivered. A flaky event sends its pack
    one by one and back as a redelivery, which applies it without touching its neighbours again."""
    a, b, c, d = (envelope_bytes(CREATED, login) for login in "abcd")

    async def publish(events: list[bytes], msg_id: str) -> None:
        await js.publish(CREATED, encode_pack([(e, {}) for e in events]), headers={"Nats-Msg-Id": msg_id})

    await publish([a, b, c], "first")
    await publish([b, c, d], "re-packed")
    await publish([a, b, c], "outlived the window")
    recorder = Recorder(flaky={"d"})
    got = await settle(sessions, js, recorder.sub, 4)
    assert sorted(login for login, _ in got) == ["a", "b", "c", "d"] and ("d", "single") in got
    await js.delete_consumer(STREAM, recorder.sub.name)  # every pack delivered again (acks lost)
    await asyncio.sleep(0.5)
    again = Recorder()
    assert await settle(sessions, js, again.sub, 4) == got
    assert again.calls == []  # the inbox absorbed them before any handler ran
    async with sessions() as session:
        assert (await session.execute(select(delivery_attempts))).all() == []  # no counter left behind


async def test_a_poison_event_in_a_pack_is_dead_lettered_alone(
    sessions: SessionFactory, js: Any, database_url: str
) -> None:
    box = Outbox("identity")
    ids = await write(sessions, box, [(CREATED, login) for login in ["a", "poison", "b", "c"]])
    await relay(sessions, database_url, js, box).publish_pending()
    assert len(await stored_messages(js)) == 1
    recorder = Recorder(poison={"poison"}, max_deliver=3)
    sub = recorder.sub
    assert sorted(await settle(sessions, js, sub, 3)) == [("a", "single"), ("b", "single"), ("c", "single")]
    assert sorted(recorder.singles) == ["a", "b", "c", "poison", "poison", "poison"]

    async def dead() -> list[Any]:
        async with sessions() as session:
            return (await session.execute(select(dead_letters))).all()

    [row] = await dead()
    # The poison event's own envelope, after its own three attempts; its neighbours were applied
    # once on the first pass and never counted.
    assert row.event_id == ids[1] and parse_envelope(row.envelope).event_id == ids[1] and row.deliveries == 3
    info = await js.consumer_info(STREAM, sub.name)
    assert info.num_ack_pending == 0 and info.num_pending == 0
    # Its rows packed again with a new one (a relay crash): the dead-lettered event is skipped,
    # not tried again, and stays one dead letter.
    [poisoned] = [data for data in events_of((await stored_messages(js))[0].data) if data == row.envelope]
    d = envelope_bytes(CREATED, "d")
    await js.publish(CREATED, encode_pack([(poisoned, {}), (d, {})]), headers={"Nats-Msg-Id": "re-packed"})
    again = Recorder(poison={"poison"}, max_deliver=3)
    assert ("d", "single") in await settle(sessions, js, again.sub, 4)
    assert again.singles == ["d"] and len(await dead()) == 1
    result = await replay_dead_letters(sessions, [Recorder().sub])
    assert (result.applied, result.failed) == (1, 0)
    assert sorted(login for login, _ in await applied(sessions)) == ["a", "b", "c", "d", "poison"]
