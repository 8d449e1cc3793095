"""Idempotency keys in the service's own transaction (salesgrid_common.idempotency), on SQLite and
PostgreSQL: a keyed call executes once; a process dying after the use case's commit but before
the answer leaves nothing behind, one dying after the key's commit leaves the answer to replay;
concurrent calls with one key execute once. A crash is `ProcessDied`, a BaseException nothing
catches (the open transaction rolls back like a dropped connection's)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from salesgrid_common.db import create_engine, create_reader, session_factory
from salesgrid_common.errors import Conflict, DomainError
from salesgrid_common.idempotency.calls import IdempotentCalls, KeyReused, StoredRefusal
from salesgrid_common.idempotency.keys import idempotency_keys, idempotency_metadata
from salesgrid_dev.testing import principal

from common_event_harness import ProcessDied

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
METHOD = "/salesgrid.test.v1.Effects/Create"
side = MetaData()
effects = Table(
    "effects",
    side,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("note", String(50), nullable=False),
)


@dataclass
class Service:
    engine: AsyncEngine
    calls: IdempotentCalls
    runs: int = 0

    def __post_init__(self) -> None:
        self.sessions = session_factory(self.engine)
        self.reader = session_factory(create_reader(str(self.engine.url.render_as_string(False)), self.engine))

    async def create(self, note: str, *, die_after_commit: bool = False, refuse_after_write: bool = False) -> str:
        """A use case as the services write them: its own transaction, then the answer."""
        self.runs += 1
        async with self.sessions() as session, session.begin():
            await session.execute(insert(effects).values(note=note))
        if die_after_commit:
            raise ProcessDied()
        async with self.reader() as session:  # the call reads its own write
            count = await session.scalar(select(func.count()).select_from(effects).where(effects.c.note == note))
        if refuse_after_write:
            raise Conflict("refused after the write", "note")
        return f"{note}:{count}"

    async def count(self, note: str) -> int:
        async with self.engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(effects).where(effects.c.note == note)))

    async def keys(self) -> int:
        async with self.engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(idempotency_keys)))


def _serialize(answer: str) -> bytes:
    return answer.encode()


@pytest.fixture
async def service(database_url: str) -> AsyncIterator[Service]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(side.create_all)
        await conn.run_sync(idempotency_metadata.create_all)
    committed: list[int] = []
    calls = IdempotentCalls(
        engine,
        lambda error: f"{error.code}:{error.message}".encode(),
        lambda: NOW,
        on_commit=[lambda: committed.append(1)],
    )
    yield Service(engine, calls)
    await engine.dispose()


REP = principal("rep-1")
OTHER = principal("rep-2")


async def test_a_retry_replays_the_stored_answer_without_executing_again(service: Service) -> None:
    first = await service.calls.run("k1", "fp", REP, METHOD, _serialize, lambda: service.create("a"))
    assert first == "a:1"  # the call saw its own uncommitted write through the reader
    again = await service.calls.run("k1", "fp", REP, METHOD, _serialize, lambda: service.create("a"))
    assert again == b"a:1" and service.runs == 1 and await service.count("a") == 1
    # The key with another request is refused, naming the key; nothing executes.
    with pytest.raises(KeyReused) as reused:
        await service.calls.run("k1", "another-request", REP, METHOD, _serialize, lambda: service.create("a"))
    assert reused.value.field == "Idempotency-Key" and reused.value.code == "FAILED_PRECONDITION"
    assert service.runs == 1
    # The key is the caller's and the method's: another caller or method executes.
    assert await service.calls.run("k1", "fp", OTHER, METHOD, _serialize, lambda: service.create("a")) == "a:2"
    assert await service.calls.run("k1", "fp", REP, METHOD + "2", _serialize, lambda: service.create("a")) == "a:3"
    assert service.runs == 3 and await service.keys() == 3


async def test_a_crash_between_the_use_cases_commit_and_the_answer_leaves_nothing_and_the_retry_executes_once(
    service: Service,
) -> None:
    with pytest.raises(ProcessDied):
        await service.calls.run("k2", "fp", REP, METHOD, _serialize, lambda: service.create("b", die_after_commit=True))
    assert await service.count("b") == 0 and await service.keys() == 0  # the commit was a savepoint
    assert await service.calls.run("k2", "fp", REP, METHOD, _serialize, lambda: service.create("b")) == "b:1"
    assert await service.calls.run("k2", "fp", REP, METHOD, _serialize, lambda: service.create("b")) == b"b:1"
    assert await service.count("b") == 1


async def test_a_crash_after_the_commit_before_the_answer_is_sent_replays_the_answer(service: Service) -> None:
    def die() -> None:
        raise ProcessDied()

    service.calls.on_commit.append(die)
    with pytest.raises(ProcessDied):
        await service.calls.run("k3", "fp", REP, METHOD, _serialize, lambda: service.create("c"))
    service.calls.on_commit.remove(die)
    assert await service.count("c") == 1
    assert await service.calls.run("k3", "fp", REP, METHOD, _serialize, lambda: service.create("c")) == b"c:1"
    assert service.runs == 1 and await service.count("c") == 1


async def test_a_refusal_after_a_write_is_kept_with_its_key_and_a_read_only_call_is_not(service: Service) -> None:
    with pytest.raises(DomainError):
        await service.calls.run(
            "k4", "fp", REP, METHOD, _serialize, lambda: service.create("d", refuse_after_write=True)
        )
    with pytest.raises(StoredRefusal) as replayed:
        await service.calls.run("k4", "fp", REP, METHOD, _serialize, lambda: service.create("d"))
    assert replayed.value.status.endswith(b":refused after the write")
    assert service.runs == 1 and await service.count("d") == 1

    async def read() -> str:
        async with service.sessions() as session:
            return str(await session.scalar(select(func.count()).select_from(effects).where(effects.c.note == "d")))

    keys = await service.keys()
    assert await service.calls.run("k5", "fp", REP, METHOD, _serialize, read) == "1"
    assert await service.keys() == keys  # nothing written, nothing kept


async def test_concurrent_calls_with_one_key_execute_once(service: Service) -> None:
    answers = await asyncio.gather(
        *(service.calls.run("k6", "fp", REP, METHOD, _serialize, lambda: service.create("e")) for _ in range(4))
    )
    assert await service.count("e") == 1
    assert {a if isinstance(a, bytes) else a.encode() for a in answers} == {b"e:1"}


async def test_keys_older_than_the_ttl_are_purged(service: Service) -> None:
    await service.calls.run("k7", "fp", REP, METHOD, _serialize, lambda: service.create("f"))
    assert await service.calls.purge() == 0
    service.calls.clock = lambda: NOW + timedelta(hours=49)
    assert await service.calls.purge() == 1 and await service.keys() == 0


async def test_an_upload_holds_no_transaction_while_it_streams_and_executes_once(service: Service) -> None:
    async def chunks(note: str) -> AsyncIterator[str]:
        for part in ("a", "b", "c"):
            # Another writer gets through while the client streams: the call holds no lock yet.
            async with service.engine.begin() as conn:
                await conn.execute(insert(effects).values(note=f"{note}-during"))
            yield part

    async def handler(requests: AsyncIterator[str], note: str, die: bool = False) -> str:
        body = "".join([part async for part in requests])
        return await service.create(f"{note}:{body}", die_after_commit=die)

    upload = "/salesgrid.test.v1.Effects/Upload"
    with pytest.raises(ProcessDied):
        await service.calls.run_upload(
            "u1", "fp", REP, upload, _serialize, chunks("u"), lambda requests: handler(requests, "u", die=True)
        )
    assert await service.count("u:abc") == 0 and await service.count("u-during") == 3
    first = await service.calls.run_upload(
        "u1", "fp", REP, upload, _serialize, chunks("u"), lambda requests: handler(requests, "u")
    )
    assert first == "u:abc:1"
    again = await service.calls.run_upload(
        "u1", "fp", REP, upload, _serialize, chunks("v"), lambda requests: handler(requests, "u")
    )
    assert again == b"u:abc:1" and await service.count("u:abc") == 1
    assert await service.count("v-during") == 0  # the replay did not read the stream
    with pytest.raises(KeyReused):
        await service.calls.run_upload(
            "u1", "another", REP, upload, _serialize, chunks("w"), lambda requests: handler(requests, "u")
        )
