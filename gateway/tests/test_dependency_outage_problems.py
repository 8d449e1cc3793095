"""An outage of a service the pipeline depends on is an outage for the client too: with customers
down, creating an opportunity answers UNAVAILABLE (DEPENDENCY_UNAVAILABLE), which the gateway
turns into 503 with Retry-After, never a 4xx blaming the request; nothing is written."""

from __future__ import annotations

import grpc
import pytest
from sqlalchemy import select

from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as pb_grpc
from salesgrid_common.events.tables import outbox
from salesgrid_dev.processes import free_port
from salesgrid_dev.testing import bearer, principal, run_service
from salesgrid_gateway.problems import from_rpc
from salesgrid_pipeline.app import DEFINITION, MIGRATIONS
from salesgrid_pipeline.settings import PipelineSettings

PERMS = {"opportunities:read": "own", "opportunities:create": "own", "customers:read": "own"}


async def test_customers_down_is_503_with_retry_after(database_url: str, nats_url: str, test_keys) -> None:
    down = f"127.0.0.1:{free_port()}"  # nothing listens there
    async with run_service(
        DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, settings_cls=PipelineSettings, customers_addr=down
    ) as running:
        api = pb_grpc.PipelineStub(running.channel)
        rep = bearer(test_keys.token(principal("rep-1", org_path="/c/r1/t1/", permissions=PERMS)))
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await api.CreateOpportunity(
                pb.CreateOpportunityRequest(
                    customer_id="c1",
                    name="Plant",
                    amount=pb.PipelineMoney(amount="10", currency="CNY"),
                    expected_close_date="2026-09-30",
                ),
                metadata=rep,
            )
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE, raised.value.details()
        problem = from_rpc(raised.value)
        assert (problem.status, problem.code, problem.headers.get("Retry-After")) == (
            503,
            "DEPENDENCY_UNAVAILABLE",
            "2",
        )
        assert "customers service" in problem.detail
        async with running.app.ctx.sessions() as session:
            subjects = list(await session.scalars(select(outbox.c.subject)))
        assert not [s for s in subjects if ".opportunity." in s], subjects  # nothing written
