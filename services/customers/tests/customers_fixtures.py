"""The customers service under test and the helpers its gRPC tests share (imported by name;
conftest.py puts this folder on sys.path; gateway/tests reach some through
test_customers_service.py): reps' and managers' permissions and tokens, the directory they sit
in, the service with its background workers left to the test, the outbox's subjects, a refused
call's error, events applied as the consumers would, and an upload in chunks."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf.message import Message
from sqlalchemy import select

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.events.v1.activities_events_pb2 import ActivitiesFollowUpLogged
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.events.consumer import Subscription, apply_once
from salesgrid_common.events.envelope import EventMeta, build_envelope, unpack
from salesgrid_common.ids import new_id
from salesgrid_common.protos import to_timestamp
from salesgrid_common.events.tables import outbox
from salesgrid_dev.directory_seed import add_user, caller, replica
from salesgrid_dev.testing import RunningService, run_service
from salesgrid_customers.settings import CustomersSettings
from salesgrid_customers.app import DEFINITION, MIGRATIONS


CREDIT_CODE = "91350100M000100Y43"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
REP_PERMS = {
    "customers:read": "own",
    "customers:create": "own",
    "customers:update": "own",
    "customers:share": "own",
    "customers:merge": "own",
    "customers:delete": "own",
    "pool:read": "all",
    "pool:claim": "own",
    "pool:release": "own",
}
MANAGER_PERMS = {**REP_PERMS, "customers:read": "subtree", "customers:update": "subtree", "customers:merge": "subtree"}
# user id -> (org path, unit id); rep-a and rep-b share branch b1, rep-c is in another region.
PEOPLE = {
    "rep-a": ("/c/r1/b1/t1/", "t1"),
    "rep-b": ("/c/r1/b1/t2/", "t2"),
    "rep-c": ("/c/r2/b9/t9/", "t9"),
    "mgr": ("/c/r1/b1/", "b1"),
}


def token(keys, user_id: str) -> tuple[tuple[str, str], ...]:
    path, unit = PEOPLE[user_id]
    if user_id == "mgr":
        return caller(keys, user_id, path, MANAGER_PERMS, unit_id=unit, roles=("sales_manager",))
    return caller(keys, user_id, path, REP_PERMS, unit_id=unit, roles=("rep",))


async def seed_directory(running: RunningService) -> None:
    async with replica(running) as session:
        for user_id, (path, unit) in PEOPLE.items():
            await add_user(session, user_id, path, unit_id=unit, roles="")


async def event_subjects(running: RunningService) -> list[str]:
    async with running.app.ctx.sessions() as session:
        return list((await session.scalars(select(outbox.c.subject).order_by(outbox.c.created_at))).all())


async def rpc_error(call) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    return error.value


async def deliver(
    running: RunningService,
    sub: Subscription,
    event_type: str,
    payload: Message,
    at: datetime,
    envelope: Envelope | None = None,
) -> bool:
    """Apply one event as the consumer would (exactly once, through the inbox); pass `envelope`
    to deliver the same event again."""
    envelope = envelope or build_envelope(event_type, sub.producer, payload, EventMeta(aggregate_id=new_id()), at)
    route = sub.route(event_type)
    assert route is not None and route[0] is not None
    return await apply_once(running.app.ctx.sessions, sub.name, envelope, route[1], unpack(envelope, route[0]))


def follow_up(customer_id: str, owner_id: str, at: datetime) -> ActivitiesFollowUpLogged:
    return ActivitiesFollowUpLogged(
        follow_up_id=new_id(), owner_id=owner_id, customer_id=customer_id, kind="call", occurred_at=to_timestamp(at)
    )


def chunks(data: bytes, fmt: str = "csv", size: int = 7) -> list[pb.ImportChunk]:
    """The upload as a client stream: the format on the first chunk only, the bytes in pieces of
    `size` (7 cuts rows and, in Chinese text, UTF-8 characters in two)."""
    pieces = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
    return [pb.ImportChunk(format=fmt if i == 0 else "", data=piece) for i, piece in enumerate(pieces)]


def running_customers(database_url: str, nats_url: str, test_keys):  # type: ignore[no-untyped-def]
    # The worker is driven by the test (run_imports), not by the hourly background tick.
    return run_service(
        DEFINITION,
        MIGRATIONS,
        database_url,
        nats_url,
        test_keys,
        settings_cls=CustomersSettings,
        import_seconds=3600,
        pool_scan_seconds=3600,
    )
