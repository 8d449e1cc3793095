"""Group commit: many requests' records stored by one write, each request answered only after the
write holding its record succeeded.

A worker's audit records of sensitive reads go to JetStream; each publish is a round trip and an
acknowledgement to parse, and each stored message is one delivery for identity's audit consumer.
`GroupCommit.add` stores a record and returns once it is stored, like a plain publish, but records
that arrive while a write is in flight wait for it and are then written together by one of them
(the first still waiting: the leader), so under load one write carries as many records as arrived
during the previous one, and a lone request is written at once, with no added delay.

There is no background task: the leader is always a request that is itself waiting. A write that
fails fails every request it carried (the gateway then refuses them: nothing is served unrecorded).
A request cancelled while it waits drops its record unless a write has already taken it; one
cancelled while it leads hands the lead on. Writes carry at most `limit` records (a message has a
size limit); the rest are written by the next leader.

One instance per event loop (a gateway worker has one)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class Interrupted(RuntimeError):
    """The write carrying a record was cancelled (its leader's request went away mid-write): the
    record may or may not be stored."""


_LEAD = object()  # the result telling a waiting request that it writes the next batch


class GroupCommit(Generic[T]):
    def __init__(self, write: Callable[[Sequence[T]], Awaitable[None]], *, limit: int = 100) -> None:
        self._write = write
        self._limit = limit
        self._busy = False  # a write is in flight or a leader has been chosen
        self._waiting: list[tuple[T, asyncio.Future[object]]] = []

    async def add(self, record: T) -> None:
        """Return once `record` is stored; raise what the write that carried it raised."""
        if not self._busy:
            self._busy = True
            batch: list[tuple[T, asyncio.Future[object] | None]] = [(record, None)]
        else:
            waiter: asyncio.Future[object] = asyncio.get_running_loop().create_future()
            self._waiting.append((record, waiter))
            try:
                if await waiter is not _LEAD:
                    return  # a leader wrote it
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None and waiter.result() is _LEAD:
                    self._hand_over()  # chosen to lead, cancelled before it could
                else:
                    self._forget(waiter)
                raise
            batch = list(self._waiting[: self._limit])  # led by this request: its own record is first
            del self._waiting[: self._limit]
        try:
            await self._write([item for item, _ in batch])
        except BaseException as error:
            for _, other in batch[1:]:
                if other is not None and not other.done():
                    other.set_exception(_for_each(error))
            raise
        else:
            for _, other in batch[1:]:
                if other is not None and not other.done():
                    other.set_result(None)
        finally:
            self._hand_over()

    def _forget(self, waiter: asyncio.Future[object]) -> None:
        self._waiting = [(item, other) for item, other in self._waiting if other is not waiter]

    def _hand_over(self) -> None:
        """Make the first request still waiting the next leader, or mark the group idle."""
        while self._waiting:
            record, waiter = self._waiting[0]
            if not waiter.done():
                waiter.set_result(_LEAD)
                return
            self._waiting.pop(0)  # cancelled and gone: its record is not written
        self._busy = False


def _for_each(error: BaseException) -> BaseException:
    """The error a write raised, as a new instance per request (a shared exception object would
    collect every request's traceback)."""
    if isinstance(error, asyncio.CancelledError):
        return Interrupted("the write carrying this record was interrupted")
    try:
        return type(error)(*error.args)
    except Exception:
        return error
