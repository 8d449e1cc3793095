"""Group commit of the audit records: a lone record is written at once; records arriving while a
write is in flight are written together by the next write, and each caller returns only after the
write carrying its record succeeded; a failed write fails every caller it carried; cancellations
neither lose the lead nor leave records hanging."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from salesgrid_gateway.group_commit import GroupCommit, Interrupted


class Store:
    """A write that takes as long as the test says: each write waits for a release."""

    def __init__(self) -> None:
        self.writes: list[list[str]] = []
        self.stored: list[str] = []
        self.gates: list[asyncio.Future[None]] = []
        self.fail_next = False

    async def write(self, records: Sequence[str]) -> None:
        self.writes.append(list(records))
        gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.gates.append(gate)
        await gate
        if self.fail_next:
            self.fail_next = False
            raise OSError("the stream did not answer")
        self.stored.extend(records)

    async def until_writes(self, count: int) -> None:
        async with asyncio.timeout(2):  # a group whose lead was lost never writes again
            while len(self.writes) < count:
                await asyncio.sleep(0)

    def release(self) -> None:
        next(gate for gate in self.gates if not gate.done()).set_result(None)


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_a_lone_record_is_written_at_once() -> None:
    store = Store()
    group = GroupCommit(store.write)
    adding = asyncio.create_task(group.add("r1"))
    await store.until_writes(1)
    assert store.writes == [["r1"]] and not adding.done()  # not answered before the write succeeded
    store.release()
    await adding
    assert store.stored == ["r1"]


async def test_records_arriving_during_a_write_share_the_next_one() -> None:
    store = Store()
    group = GroupCommit(store.write)
    first = asyncio.create_task(group.add("r1"))
    await store.until_writes(1)
    others = [asyncio.create_task(group.add(f"r{n}")) for n in range(2, 6)]
    await settle()
    assert store.writes == [["r1"]]  # they wait for the write in flight
    store.release()
    await first
    await store.until_writes(2)
    assert store.writes[1] == ["r2", "r3", "r4", "r5"] and not any(task.done() for task in others)
    store.release()
    await asyncio.gather(*others)
    assert store.stored == ["r1", "r2", "r3", "r4", "r5"]
    # idle again: the next lone record is written at once
    last = asyncio.create_task(group.add("r6"))
    await store.until_writes(3)
    store.release()
    await last
    assert store.writes[2] == ["r6"]


async def test_a_write_carries_at_most_the_limit() -> None:
    store = Store()
    group = GroupCommit(store.write, limit=2)
    first = asyncio.create_task(group.add("r1"))
    await store.until_writes(1)
    others = [asyncio.create_task(group.add(f"r{n}")) for n in range(2, 7)]
    await settle()
    for count in (2, 3, 4):
        store.release()
        await store.until_writes(count)
    store.release()
    await asyncio.gather(first, *others)
    assert store.writes == [["r1"], ["r2", "r3"], ["r4", "r5"], ["r6"]]


async def test_a_failed_write_fails_every_caller_it_carried() -> None:
    store = Store()
    group = GroupCommit(store.write)
    first = asyncio.create_task(group.add("r1"))
    await store.until_writes(1)
    carried = [asyncio.create_task(group.add(f"r{n}")) for n in (2, 3)]
    store.release()
    await first
    await store.until_writes(2)
    store.fail_next = True
    late = asyncio.create_task(group.add("r4"))  # arrives during the failing write: not carried by it
    await settle()
    store.release()
    for task in carried:
        with pytest.raises(OSError, match="did not answer"):
            await task
    await store.until_writes(3)
    store.release()
    await late
    assert store.stored == ["r1", "r4"] and store.writes[2] == ["r4"]


async def test_a_caller_cancelled_while_waiting_drops_its_record() -> None:
    store = Store()
    group = GroupCommit(store.write)
    first = asyncio.create_task(group.add("r1"))
    await store.until_writes(1)
    gone, kept = asyncio.create_task(group.add("gone")), asyncio.create_task(group.add("kept"))
    await settle()
    gone.cancel()
    await settle()
    store.release()
    await first
    await store.until_writes(2)
    store.release()
    await kept
    assert store.writes == [["r1"], ["kept"]] and gone.cancelled()


async def test_a_leader_cancelled_mid_write_interrupts_its_batch_and_hands_on_the_lead() -> None:
    store = Store()
    group = GroupCommit(store.write)
    first = asyncio.create_task(group.add("r1"))
    await store.until_writes(1)
    leader, follower = asyncio.create_task(group.add("r2")), asyncio.create_task(group.add("r3"))
    store.release()
    await first
    await store.until_writes(2)
    later = asyncio.create_task(group.add("r4"))
    await settle()
    leader.cancel()  # its write of r2 and r3 is cut short
    with pytest.raises(Interrupted):
        await follower
    await store.until_writes(3)  # r4's caller leads the next write: nothing is stuck
    store.release()
    await later
    assert store.writes[2] == ["r4"] and store.stored == ["r1", "r4"]


async def test_a_caller_cancelled_just_as_it_was_chosen_to_lead_hands_the_lead_on() -> None:
    store = Store()
    group = GroupCommit(store.write)
    first = asyncio.create_task(group.add("r1"))
    await store.until_writes(1)
    chosen, next_one = asyncio.create_task(group.add("r2")), asyncio.create_task(group.add("r3"))
    await settle()
    store.release()
    # Runs after r1's write hands the lead to r2's caller and before that caller resumes.
    asyncio.get_running_loop().call_soon(chosen.cancel)
    await first
    await store.until_writes(2)
    store.release()
    await next_one
    assert store.writes == [["r1"], ["r3"]] and chosen.cancelled()
