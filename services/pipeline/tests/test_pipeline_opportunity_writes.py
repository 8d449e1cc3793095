"""What creating an opportunity and moving its stage read, now that each is one transaction: the
stage model another replica changed is applied (its version is read with the row, the cached
definition only while it is the stored one), an unknown model is refused before customers is
asked, and the owner's calendar is read whenever the close date needs it -- on SQLite and
PostgreSQL, through gRPC next to the real customers service."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc

from salesgrid.events.v1.pipeline_events_pb2 import PipelineOpportunityState
from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as pb_grpc
from salesgrid_common.clock import FakeClock
from salesgrid_dev.directory_seed import add_user, replica
from salesgrid_common.customer_merges import survivor_of
from salesgrid_dev.testing import bearer, eventually, principal
from pipeline_fixtures import (  # noqa: F401 - fixtures
    REP_PERMS,
    START,
    customers_service,
    events,
    expect_error,
    money,
    new_customer,
    pipeline,
    publish_merge,
    services_model,
)


async def test_a_replica_applies_the_stage_model_another_replica_changed(
    database_url: str, nats_url: str, test_keys, customers_service
) -> None:
    addr = customers_service.address
    async with (
        pipeline(database_url, nats_url, test_keys, customers_addr=addr) as one,
        pipeline(database_url, nats_url, test_keys, customers_addr=addr) as other,
    ):
        api, admin_api = pb_grpc.PipelineStub(one.channel), pb_grpc.PipelineStub(other.channel)
        rep = bearer(test_keys.token(principal("rep-1", org_path="/c/r1/t1/", permissions=REP_PERMS)))
        admin = bearer(
            test_keys.token(principal("dir-1", org_path="/c/", permissions={**REP_PERMS, "stage_models:update": "all"}))
        )
        # an unknown model is refused before the customer is looked up (that one does not exist either)
        unknown = pb.CreateOpportunityRequest(
            customer_id="no-such-customer",
            name="Rollout",
            amount=money("800"),
            expected_close_date="2026-05-31",
            stage_model="services",
        )
        await expect_error(
            api.CreateOpportunity(unknown, metadata=rep), grpc.StatusCode.INVALID_ARGUMENT, "stage_model"
        )

        first = services_model()
        del first.stages[2].required_facts[:]  # version 1: proposal needs nothing
        await admin_api.PutStageModel(pb.PutStageModelRequest(model=first), metadata=admin)
        customer = await new_customer(customers_service, rep, "岭东软件服务有限公司")
        create = pb.CreateOpportunityRequest(
            customer_id=customer, name="Rollout", amount=money("800"), expected_close_date="2026-05-31"
        )
        create.stage_model = "services"  # stored by the other replica
        opp = await api.CreateOpportunity(create, metadata=rep)
        opp = await api.AdvanceOpportunity(pb.AdvanceOpportunityRequest(id=opp.id, target_stage="demo"), metadata=rep)
        assert opp.stage == "demo"  # this replica now holds version 1

        # version 2 through the other replica: entering proposal needs a PO number
        await admin_api.PutStageModel(pb.PutStageModelRequest(model=services_model()), metadata=admin)
        await expect_error(
            api.AdvanceOpportunity(pb.AdvanceOpportunityRequest(id=opp.id, target_stage="proposal"), metadata=rep),
            grpc.StatusCode.FAILED_PRECONDITION,
            "po_number",
        )
        moved = await api.AdvanceOpportunity(
            pb.AdvanceOpportunityRequest(
                id=opp.id, target_stage="proposal", facts=[pb.Fact(code="po_number", text="PO-7")]
            ),
            metadata=rep,
        )
        assert (moved.stage, moved.probability) == ("proposal", 70)
        create.name = "Second rollout"
        await api.CreateOpportunity(create, metadata=rep)
        versions = [
            (state.name, state.stage, state.stage_model_version)
            for subject in ("created", "stage_changed")
            for state in await events(one, f"salesgrid.pipeline.opportunity.{subject}", PipelineOpportunityState)
        ]
        assert versions == [
            ("Rollout", "qualify", 1),
            ("Second rollout", "qualify", 2),
            ("Rollout", "demo", 1),
            ("Rollout", "proposal", 2),
        ]


async def test_the_close_date_is_checked_on_the_owners_calendar_when_it_matters(
    database_url: str, nats_url: str, test_keys, customers_service
) -> None:
    late = FakeClock(datetime(2026, 3, 2, 23, 30, tzinfo=UTC))  # already 3 March in Shanghai
    async with pipeline(
        database_url, nats_url, test_keys, clock=late, customers_addr=customers_service.address
    ) as running:
        async with replica(running) as session:
            await add_user(session, "rep-1", "/c/r1/t1/", zone="Asia/Shanghai", at=START)
            await add_user(session, "rep-2", "/c/r2/t2/", zone="America/New_York", at=START)
        api = pb_grpc.PipelineStub(running.channel)
        rep = bearer(test_keys.token(principal("rep-1", org_path="/c/r1/t1/", permissions=REP_PERMS)))
        customer = await new_customer(customers_service, rep, "岭东软件服务有限公司")
        create = pb.CreateOpportunityRequest(
            customer_id=customer, name="Old deal", amount=money("800"), expected_close_date="2025-03-02"
        )
        # 365 days before the UTC date, 366 before the owner's
        await expect_error(
            api.CreateOpportunity(create, metadata=rep), grpc.StatusCode.INVALID_ARGUMENT, "expected_close_date"
        )
        create.expected_close_date = "2025-03-03"
        assert (await api.CreateOpportunity(create, metadata=rep)).expected_close_date == "2025-03-03"
        # still 2 March in New York: the same date is within the limit for a rep there
        west = bearer(test_keys.token(principal("rep-2", org_path="/c/r2/t2/", permissions=REP_PERMS)))
        create.customer_id = await new_customer(customers_service, west, "岭西软件服务有限公司")
        create.expected_close_date = "2025-03-02"
        assert (await api.CreateOpportunity(create, metadata=west)).expected_close_date == "2025-03-02"


async def test_a_merged_id_customers_refuses_stands_for_its_visible_survivor(
    database_url: str, nats_url: str, test_keys, customers_service
) -> None:
    async with pipeline(database_url, nats_url, test_keys, customers_addr=customers_service.address) as running:
        api = pb_grpc.PipelineStub(running.channel)
        rep = bearer(test_keys.token(principal("rep-1", org_path="/c/r1/t1/", permissions=REP_PERMS)))
        survivor = await new_customer(customers_service, rep, "岭东软件服务有限公司")
        create = pb.CreateOpportunityRequest(
            customer_id="gone-1", name="Rollout", amount=money("800"), expected_close_date="2026-05-31"
        )
        # customers knows no "gone-1"; until pipeline learns of the merge that is the caller's answer
        await expect_error(api.CreateOpportunity(create, metadata=rep), grpc.StatusCode.INVALID_ARGUMENT, "customer_id")
        await publish_merge(nats_url, survivor, ["gone-1"])

        async def merged() -> bool:
            async with running.app.ctx.sessions() as session:
                return await survivor_of(session, "gone-1", writing=False) == survivor

        await eventually(merged)
        assert (await api.CreateOpportunity(create, metadata=rep)).customer_id == survivor
