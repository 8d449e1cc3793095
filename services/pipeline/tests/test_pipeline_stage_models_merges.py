"""Pipeline publishes its stage models (the built-in default included) for analytics, weighs the
forecast with the shared weighted-pipeline definition, and re-attaches a merged customer's
opportunities to the survivor from customers' `merged` event — through gRPC next to the real
customers service, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from salesgrid.customers.v1 import customers_pb2 as cpb
from salesgrid.customers.v1 import customers_pb2_grpc as cpb_grpc
from salesgrid.events.v1.pipeline_events_pb2 import PipelineOpportunityState, PipelineStageModelState
from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as pb_grpc
from salesgrid_common.clock import FakeClock
from salesgrid_dev.testing import bearer, eventually, principal
from salesgrid_pipeline.domain.stage_model import default_stage_model
from salesgrid_pipeline.usecases import PipelineUseCases
from pipeline_fixtures import (  # noqa: F401 - fixtures
    REP_PERMS,
    START,
    approval_facts,
    customers_service,
    events,
    money,
    new_customer,
    new_opportunity,
    pipeline,
    publish_merge,
    services_model,
)


async def test_stage_models_published_and_forecast_weighs_by_stage(
    database_url: str, nats_url: str, test_keys, customers_service
) -> None:
    async with pipeline(database_url, nats_url, test_keys, customers_addr=customers_service.address) as running:
        api = pb_grpc.PipelineStub(running.channel)
        rep = bearer(test_keys.token(principal("rep-1", org_path="/c/r1/t1/", permissions=REP_PERMS)))
        admin = bearer(
            test_keys.token(principal("dir-1", org_path="/c/", permissions={**REP_PERMS, "stage_models:update": "all"}))
        )
        uc = running.app.ctx.component(PipelineUseCases)

        # the built-in default is published once at start-up: every stage, in order, with outcomes
        published = await eventually(
            lambda: events(running, "salesgrid.pipeline.stage_model.published", PipelineStageModelState)
        )
        default = default_stage_model()
        assert [(m.code, m.version) for m in published] == [("default", 0)]
        assert [(s.code, s.probability, s.outcome) for s in published[0].stages] == [
            (s.code, s.probability, s.outcome.value if s.outcome else "") for s in default.stages
        ]
        assert await uc.publish_stage_models() == 0  # the periodic check finds nothing new

        # an administered model is published on every change, with its version
        await api.PutStageModel(pb.PutStageModelRequest(model=services_model()), metadata=admin)
        await api.PutStageModel(pb.PutStageModelRequest(model=services_model(name="Services 2")), metadata=admin)
        published = await events(running, "salesgrid.pipeline.stage_model.published", PipelineStageModelState)
        assert [(m.code, m.version, m.name) for m in published[1:]] == [
            ("services", 1, "Services"),
            ("services", 2, "Services 2"),
        ]
        assert [s.code for s in published[2].stages] == ["qualify", "demo", "proposal", "won", "lost"]
        assert await uc.publish_stage_models() == 0

        # a 100,000 deal in formal communication (正式沟通, 40 %) weighs 40,000
        opp = await new_opportunity(
            api, customers_service, rep, "华东精密机械有限公司", "Plant", "100000", "2026-09-30"
        )
        await api.AdvanceOpportunity(pb.AdvanceOpportunityRequest(id=opp.id, facts=approval_facts()), metadata=rep)
        moved = await api.AdvanceOpportunity(
            pb.AdvanceOpportunityRequest(
                id=opp.id,
                facts=[
                    pb.Fact(code="expected_bid_date", date="2026-08-01"),
                    pb.Fact(code="expected_winning_amount", amount=money("100000")),
                ],
            ),
            metadata=rep,
        )
        assert (moved.stage, moved.probability) == ("formal_communication", 40)
        forecast = await api.GetForecast(pb.GetForecastRequest(), metadata=rep)
        assert [(b.month, b.amount, b.weighted_amount) for b in forecast.buckets] == [
            ("2026-09", "100000.00", "40000.00")
        ]
        # its events name its model and version (what analytics weighs it by)
        states = await events(running, "salesgrid.pipeline.opportunity.stage_changed", PipelineOpportunityState)
        assert [(s.stage, s.stage_model, s.stage_model_version, s.probability) for s in states] == [
            ("approval", "default", 0, 25),
            ("formal_communication", "default", 0, 40),
        ]


async def test_merged_customers_opportunities_follow_the_survivor(
    database_url: str, nats_url: str, test_keys, customers_service
) -> None:
    clock = FakeClock(START)
    async with pipeline(
        database_url, nats_url, test_keys, clock=clock, customers_addr=customers_service.address
    ) as running:
        api = pb_grpc.PipelineStub(running.channel)
        rep = bearer(
            test_keys.token(
                principal(
                    "rep-1",
                    org_path="/c/r1/t1/",
                    permissions={**REP_PERMS, "customers:merge": "own", "customers:update": "own"},
                )
            )
        )
        survivor = await new_customer(customers_service, rep, "华东精密机械有限公司")
        duplicate = await new_customer(customers_service, rep, "沪东精密仪表有限公司")

        async def create(customer_id: str, name: str) -> pb.Opportunity:
            return await api.CreateOpportunity(
                pb.CreateOpportunityRequest(
                    customer_id=customer_id, name=name, amount=money("1000"), expected_close_date="2026-09-30"
                ),
                metadata=rep,
            )

        kept = await create(survivor, "Plant automation")
        clash = await create(duplicate, "plant  automation")  # the same name on the duplicate
        other = await create(duplicate, "Spare parts")

        async def listed(customer_id: str) -> dict[str, tuple[str, int]]:
            page = await api.ListOpportunities(pb.ListOpportunitiesRequest(customer_id=customer_id), metadata=rep)
            return {o.id: (o.name, o.version) for o in page.opportunities}

        # the merge, through the customers service; its event re-attaches the duplicate's deals
        await cpb_grpc.CustomersStub(customers_service.channel).MergeCustomers(
            cpb.MergeCustomersRequest(survivor_id=survivor, duplicate_ids=[duplicate]), metadata=rep
        )
        moved = await eventually(lambda: _when_count(listed(survivor), 3))
        assert moved == {
            kept.id: ("Plant automation", 1),
            clash.id: ("plant  automation (merged)", 2),
            other.id: ("Spare parts", 2),
        }
        assert (await api.GetOpportunity(pb.GetOpportunityRequest(id=other.id), metadata=rep)).customer_id == survivor
        updated = await events(running, "salesgrid.pipeline.opportunity.updated", PipelineOpportunityState)
        assert sorted((u.opportunity_id, u.customer_id) for u in updated) == sorted(
            [(clash.id, survivor), (other.id, survivor)]
        )

        # the merged id still answers: its list is the survivor's, a new deal lands on the survivor
        assert await listed(duplicate) == moved
        late = await create(duplicate, "Late order")
        assert late.customer_id == survivor

        # the same merge again (a replay under a new event id) changes nothing
        await publish_merge(nats_url, survivor, [duplicate])
        clock.advance(timedelta(seconds=1))

        async def applied_twice() -> bool:
            async with running.app.ctx.sessions() as session:
                from salesgrid_common.events.tables import inbox

                rows = (
                    await session.execute(
                        select(inbox.c.event_id).where(inbox.c.consumer == "pipeline-customer-merges")
                    )
                ).all()
            return len(rows) == 2

        await eventually(applied_twice)
        assert (await listed(survivor)) == {**moved, late.id: ("Late order", 1)}
        assert len(await events(running, "salesgrid.pipeline.opportunity.updated", PipelineOpportunityState)) == 2


async def _when_count(pending, count: int):  # type: ignore[no-untyped-def]
    found = await pending
    return found if len(found) == count else None
