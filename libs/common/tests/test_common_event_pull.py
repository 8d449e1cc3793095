"""events.pull.fetch against a real nats-server: at most `batch` messages, what is there at once,
one that arrives while it waits, TimeoutError when nothing comes; nothing lost or doubled across
fetches, and a message not acked is delivered again after ack_wait."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from salesgrid_common.events.pull import fetch


async def pull(js: Any) -> Any:
    config = ConsumerConfig(durable_name="pull-test", ack_policy=AckPolicy.EXPLICIT, ack_wait=1.0)
    await js.add_consumer("SALESGRID_IDENTITY", config)
    return await js.pull_subscribe_bind("pull-test", stream="SALESGRID_IDENTITY")


async def publish(js: Any, *bodies: str) -> None:
    for body in bodies:
        await js.publish("salesgrid.identity.user.created", body.encode())


async def test_fetch_returns_up_to_a_batch_then_the_rest_then_times_out(js: Any) -> None:
    psub = await pull(js)
    await publish(js, *"abcde")
    first = await fetch(psub, 3, timeout=2.0)
    second = await fetch(psub, 10, timeout=2.0)
    assert [m.data for m in first + second] == [b"a", b"b", b"c", b"d", b"e"]
    for msg in first + second:
        await msg.ack()
    began = time.monotonic()
    with pytest.raises(TimeoutError):
        await fetch(psub, 10, timeout=0.3)
    assert time.monotonic() - began < 1.5


async def test_fetch_waits_for_a_message_and_unacked_ones_come_back(js: Any) -> None:
    psub = await pull(js)
    waiting = asyncio.create_task(fetch(psub, 10, timeout=2.0))
    await asyncio.sleep(0.2)
    await publish(js, "late")
    got = await waiting
    assert [m.data for m in got] == [b"late"]
    again = await fetch(psub, 10, timeout=3.0)  # not acked: redelivered after ack_wait
    assert [m.data for m in again] == [b"late"] and again[0].metadata.num_delivered == 2
    await again[0].ack()


async def test_a_message_delivered_on_an_older_open_request_is_returned_at_once(js: Any) -> None:
    """Pull requests share the subscription's inbox, and nats-server hands a new message to the
    oldest open one. An earlier request still open (nats-server keeps a no-wait request that
    carries an expiry open at times) delivers it without a closing status after it: a fetch that
    waited for its own request's end held the message until ack_wait brought it again (seen as
    2 s projection lags in analytics). A fetch returns the messages it has."""
    config = ConsumerConfig(durable_name="pull-older", ack_policy=AckPolicy.EXPLICIT, ack_wait=1.5)
    await js.add_consumer("SALESGRID_IDENTITY", config)
    psub = await js.pull_subscribe_bind("pull-older", stream="SALESGRID_IDENTITY")
    older = {"batch": 50, "expires": 4_000_000_000}  # open for 4 s, room for more than one message
    await psub._nc.publish(psub._nms, json.dumps(older).encode(), psub._deliver)
    await asyncio.sleep(0.1)
    waiting = asyncio.create_task(fetch(psub, 10, timeout=3.0))
    await asyncio.sleep(0.1)
    began = time.monotonic()
    await publish(js, "wanted")
    got = await waiting
    assert time.monotonic() - began < 1.0, "the fetch held its message"
    assert [m.data for m in got] == [b"wanted"] and got[0].metadata.num_delivered == 1
    await got[0].ack()
