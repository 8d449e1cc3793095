"""What the crash and batch tests of the event pipeline share (imported by name: conftest.py
puts this folder on sys.path): the simulated crash, and running a consumer until it settles."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from nats.js.errors import NotFoundError

from salesgrid_common.db import SessionFactory
from salesgrid_common.events.consumer import EventConsumer, Subscription
from salesgrid_dev.testing import eventually


class ProcessDied(BaseException):
    """kill -9 at this point: nothing in the pipeline catches it, so the task ends there without
    acking, nak'ing or committing anything further (the open transaction rolls back)."""


async def stop(task: asyncio.Task[Any]) -> None:
    # nats-py's fetch can swallow a cancellation that lands in its inner wait_for: do not wait
    # for the task forever (its connection is closed at the end of the test anyway).
    task.cancel()
    await asyncio.wait([task], timeout=3)


async def run_until_settled(
    sessions: SessionFactory, js: Any, sub: Subscription, ready: Callable[[], Awaitable[bool]], *, ack_wait: float
) -> None:
    """Run a fresh consumer of `sub` (the restarted process) until `ready()` holds and nothing is
    left in flight on the identity stream."""
    task = asyncio.create_task(EventConsumer(sub, js, sessions, ack_wait=ack_wait, batch=10).run())
    try:

        async def done() -> bool:
            try:
                info = await js.consumer_info("SALESGRID_IDENTITY", sub.name)
            except NotFoundError:
                return False  # not created yet
            return await ready() and info.num_ack_pending == 0 and info.num_pending == 0

        await eventually(done, timeout=20)
    finally:
        await stop(task)
