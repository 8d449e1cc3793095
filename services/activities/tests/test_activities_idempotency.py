"""A write with an idempotency key through the real service's gRPC interceptor, on SQLite and
PostgreSQL (salesgrid_common.idempotency): a retry gets the first answer and writes nothing more,
the key with another request is refused naming it, another caller's key is his own, a refusal
that wrote nothing is not kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from salesgrid.activities.v1 import activities_pb2 as pb
from salesgrid.activities.v1 import activities_pb2_grpc as pb_grpc
from salesgrid_activities.app import DEFINITION, MIGRATIONS
from salesgrid_activities.models import FollowUpRow
from salesgrid_common.events.tables import outbox
from salesgrid_common.idempotency.keys import idempotency_keys
from salesgrid_common.protos import to_timestamp as ts
from salesgrid_dev.testing import bearer, field_violations, principal, run_service

START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
REPLAY_LABELS = {"grpc_service": "salesgrid.activities.v1.Activities", "grpc_method": "LogFollowUp"}
PERMS = {"activities:read": "own", "activities:create": "own"}


async def test_a_keyed_write_executes_once_per_caller(database_url: str, nats_url: str, test_keys) -> None:
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys) as running:
        stub = pb_grpc.ActivitiesStub(running.channel)
        rep = bearer(test_keys.token(principal("rep-a", "/c/t/", permissions=PERMS)))
        rep2 = bearer(test_keys.token(principal("rep-b", "/c/t/", permissions=PERMS)))
        request = pb.LogFollowUpRequest(
            kind="call", occurred_at=ts(START - timedelta(hours=1)), notes="once", customer_id="cust-1"
        )

        def keyed(who: tuple[tuple[str, str], ...], key: str) -> tuple[tuple[str, str], ...]:
            return (*who, ("idempotency-key", key))

        first = await stub.LogFollowUp(request, metadata=keyed(rep, "k1.1"))
        replays = REGISTRY.get_sample_value("salesgrid_idempotent_replays_total", REPLAY_LABELS) or 0.0
        replay = stub.LogFollowUp(request, metadata=keyed(rep, "k1.1"))
        again = await replay
        assert again == first
        assert ("idempotent-replayed", "true") in tuple(await replay.trailing_metadata())
        assert REGISTRY.get_sample_value("salesgrid_idempotent_replays_total", REPLAY_LABELS) == replays + 1
        with pytest.raises(grpc.aio.AioRpcError) as reused:  # the key with another request: 422 at the gateway
            await stub.LogFollowUp(
                pb.LogFollowUpRequest(kind="call", occurred_at=ts(START), notes="other", customer_id="cust-1"),
                metadata=keyed(rep, "k1.1"),
            )
        assert reused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert field_violations(reused.value) == ["Idempotency-Key"]
        other = await stub.LogFollowUp(request, metadata=keyed(rep2, "k1.1"))
        assert other.id != first.id and other.owner_id == "rep-b"
        unkeyed = await stub.LogFollowUp(request, metadata=rep)
        assert unkeyed.id not in (first.id, other.id)

        # A refusal that wrote nothing is not kept: the corrected request with the key executes.
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.LogFollowUp(
                pb.LogFollowUpRequest(kind="fax", occurred_at=ts(START), notes="x"), metadata=keyed(rep, "k2.1")
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        corrected = await stub.LogFollowUp(request, metadata=keyed(rep, "k2.1"))
        assert corrected.id not in (first.id, other.id, unkeyed.id)

        async with running.app.ctx.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(FollowUpRow)) == 4
            assert await session.scalar(select(func.count()).select_from(idempotency_keys)) == 3
            events = (await session.scalars(select(outbox.c.subject))).all()
        assert sum("follow_up" in subject for subject in events) == 4, events
