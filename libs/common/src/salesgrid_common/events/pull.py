"""A JetStream pull fetch without two tasks per message.

nats-py's `PullSubscription.fetch` (2.x) waits for every message and status of a batch through
`Subscription.next_msg`, which makes a task around `asyncio.wait_for`, itself a task around the
queue read: for a consumer that fetches a few events at a time this was about a tenth of its CPU.
`fetch` reads the subscription's queue directly under one `asyncio.timeout`: first what earlier
requests left there, then one no-wait request for what is pending now (ended by a 404/408 status
or a full batch), and only if that brought nothing, one lingering request for a single message
until the timeout.

A fetch returns the messages it has; it does not wait for a request's closing status once the
deliveries stop (SETTLE_SECONDS). Pull requests share the subscription's inbox and nats-server
hands a new message to the oldest open request, which may be one an earlier fetch no longer reads
(nats-py's fetch, which this once followed, sends its no-wait request with an expiry when nothing
was left over, and nats-server keeps such a request open at times): a message then came with no
status after it, the fetch held it until ack_wait brought it again, and analytics' projections
lagged by exactly ack_wait (2 s) a few times a minute. So the no-wait request never carries an
expiry, and the lingering one asks for one message: neither stays open once answered.

It relies on the pull subscription's private attributes (`_sub`, `_nc`, `_nms`, `_deliver`;
requirements.lock pins nats-py); without them it calls nats-py's fetch."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from nats.js.api import Header, StatusCode
from nats.js.errors import APIError

_ENDS = (StatusCode.NO_MESSAGES.value, StatusCode.REQUEST_TIMEOUT.value)  # the request is over
# After a delivery, how long a fetch waits for the next one before returning what it has: the
# messages of one answer arrive back to back, but on two busy cores a process can wait a few ms for
# its turn; a short batch cut off early only costs the consumer another fetch. Far below ack_wait.
SETTLE_SECONDS = 0.05
_TEMPORARY = (*_ENDS, StatusCode.CONFLICT.value)


async def fetch(psub: Any, batch: int, timeout: float) -> list[Any]:
    """Up to `batch` messages (statuses left out); TimeoutError if none came within `timeout`."""
    try:
        sub, nc, next_subject, inbox = psub._sub, psub._nc, psub._nms, psub._deliver
        queue: asyncio.Queue[Any] = sub._pending_queue
    except AttributeError:
        return list(await psub.fetch(batch, timeout=timeout))
    started = time.monotonic()
    msgs: list[Any] = []
    while not queue.empty():  # what earlier requests left: their statuses are stale
        msg = _take(sub, queue.get_nowait())
        if _status(msg) is None:
            msgs.append(msg)
    if len(msgs) >= batch:
        return msgs
    # What is pending now: no expiry, so the server answers at once and closes the request.
    request = {"batch": batch - len(msgs), "no_wait": True}
    await nc.publish(next_subject, json.dumps(request).encode(), inbox)
    await _read(sub, queue, msgs, batch, timeout - (time.monotonic() - started), first_request=True)
    if msgs:
        return msgs
    # Nothing: one lingering request, for one message (answered, it is closed), until the timeout.
    remaining = timeout - (time.monotonic() - started)
    if remaining <= 0.001:
        raise TimeoutError
    request = {"batch": 1, "expires": int(remaining * 1_000_000_000) - 100_000}
    await nc.publish(next_subject, json.dumps(request).encode(), inbox)
    if not await _read(sub, queue, msgs, 1, remaining, first_request=False) and not msgs:
        raise TimeoutError
    return msgs  # empty if the server ended the request early: the caller lingers, then asks again


async def _read(
    sub: Any, queue: asyncio.Queue[Any], msgs: list[Any], batch: int, wait: float, *, first_request: bool
) -> bool:
    """The replies to one request into `msgs`, until the batch is full, the request is over (a
    404/408 status; on the no-wait request any status), no message has come for SETTLE_SECONDS
    after one did, or `wait` seconds have passed; False if the time ran out."""
    deadline = asyncio.get_running_loop().time() + max(wait, 0.0)
    try:
        async with asyncio.timeout_at(deadline) as scope:
            while len(msgs) < batch:
                if not queue.empty():
                    msg = queue.get_nowait()
                elif msgs:  # the deliveries stopped: return what came rather than wait for a status
                    scope.reschedule(min(deadline, asyncio.get_running_loop().time() + SETTLE_SECONDS))
                    msg = await queue.get()
                    scope.reschedule(deadline)
                else:
                    msg = await queue.get()
                msg = _take(sub, msg)
                status = _status(msg)
                if status is None:
                    msgs.append(msg)
                elif status == StatusCode.CONTROL_MESSAGE.value:
                    continue  # an idle heartbeat
                elif status in _ENDS or (first_request and status in _TEMPORARY):
                    return True
                elif status not in _TEMPORARY and not msgs:
                    raise APIError.from_msg(msg)
                elif first_request:
                    return True
    except TimeoutError:
        return bool(msgs)
    return True


def _take(sub: Any, msg: Any) -> Any:
    """What Subscription.next_msg does with a message it hands out."""
    sub._pending_size -= len(msg.data)
    sub._pending_queue.task_done()
    return msg


def _status(msg: Any) -> str | None:
    headers = msg.headers
    return None if not headers else headers.get(Header.STATUS)
