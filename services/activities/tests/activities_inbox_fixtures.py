"""What the inbox tests share (imported by name; conftest.py puts this folder on sys.path): the
clock's start and the team, handing an event to one of activities' inbox consumers as the bus
would, and the service with its inbox stub on a fake clock."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from google.protobuf.message import Message

from salesgrid.activities.v1 import inbox_pb2_grpc as pb_grpc
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_activities.app import DEFINITION, MIGRATIONS
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.consumer import apply_once
from salesgrid_common.events.envelope import EventMeta, build_envelope, unpack
from salesgrid_common.events.subscriptions import Subscription
from salesgrid_common.ids import new_id
from salesgrid_dev.testing import RunningService, TestKeys, bearer, principal, run_service

START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
TEAM = "/c/r1/b1/t1/"


async def deliver_to(
    running: RunningService,
    sub: Subscription,
    event_type: str,
    payload: Message,
    at: datetime,
    *,
    aggregate_id: str | None = None,
    org_path: str = TEAM,
    envelope: Envelope | None = None,
) -> Envelope:
    """Applies `payload` (or the given `envelope`, for a redelivery) once through the consumer
    `sub`, as the bus would deliver it: the aggregate is a fresh id unless named."""
    envelope = envelope or build_envelope(
        event_type, sub.producer, payload, EventMeta(aggregate_id=aggregate_id or new_id(), org_path=org_path), at
    )
    route = sub.route(event_type)
    assert route is not None and route[0] is not None
    await apply_once(running.app.ctx.sessions, sub.name, envelope, route[1], unpack(envelope, route[0]))
    return envelope


@contextlib.asynccontextmanager
async def inbox_service(
    database_url: str, nats_url: str, test_keys: TestKeys
) -> AsyncIterator[tuple[RunningService, pb_grpc.InboxStub]]:
    """Activities on a clock stopped at START, and its inbox stub."""
    async with run_service(
        DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=FakeClock(START)
    ) as running:
        yield running, pb_grpc.InboxStub(running.channel)


def reader(keys: TestKeys, user_id: str, org_path: str = TEAM) -> tuple[tuple[str, str], ...]:
    """The metadata of `user_id`, who reads his own activities (his inbox)."""
    return bearer(keys.token(principal(user_id, org_path, permissions={"activities:read": "own"})))
