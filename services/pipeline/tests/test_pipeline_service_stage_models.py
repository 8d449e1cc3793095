"""Stage models per business line through the pipeline service's gRPC API on SQLite and
PostgreSQL, next to the real customers service."""

from __future__ import annotations

import grpc

from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as pb_grpc
from salesgrid_dev.testing import bearer, field_violations, principal

from pipeline_fixtures import REP_PERMS, expect_error, money, new_customer, pipeline, services_model
from pipeline_fixtures import customers_service  # noqa: F401 - fixtures


async def test_stage_models_per_business_line(database_url: str, nats_url: str, test_keys, customers_service) -> None:
    async with pipeline(database_url, nats_url, test_keys, customers_addr=customers_service.address) as running:
        api = pb_grpc.PipelineStub(running.channel)
        rep = bearer(test_keys.token(principal("rep-1", org_path="/c/r1/t1/", permissions=REP_PERMS)))
        admin = bearer(
            test_keys.token(principal("dir-1", org_path="/c/", permissions={**REP_PERMS, "stage_models:update": "all"}))
        )
        await expect_error(
            api.PutStageModel(pb.PutStageModelRequest(model=services_model()), metadata=rep),
            grpc.StatusCode.PERMISSION_DENIED,
        )

        # the domain validates the model as a whole; a bad one names the field and is not stored
        duplicate = services_model()
        duplicate.stages[1].code = "qualify"
        two_won = services_model()
        two_won.stages[4].outcome = "won"
        two_won.stages[4].probability = 100
        bad_type = services_model()
        bad_type.stages[2].required_facts[0].type = "colour"
        falling = services_model()
        falling.stages[1].probability = 5
        for model, field in (
            (duplicate, "stages[1].code"),
            (two_won, "stages"),
            (bad_type, "stages[2].required_facts[0].type"),
            (falling, "stages"),
            (services_model(entry_stage="won"), "entry_stage_code"),
        ):
            error = await expect_error(
                api.PutStageModel(pb.PutStageModelRequest(model=model), metadata=admin),
                grpc.StatusCode.INVALID_ARGUMENT,
            )
            assert field in field_violations(error), (field, error.details())
        listed = await api.ListStageModels(pb.ListStageModelsRequest(), metadata=rep)
        assert [m.code for m in listed.models] == ["default"]

        saved = await api.PutStageModel(pb.PutStageModelRequest(model=services_model()), metadata=admin)
        assert saved == services_model()
        assert [m.code for m in (await api.ListStageModels(pb.ListStageModelsRequest(), metadata=rep)).models] == [
            "default",
            "services",
        ]
        assert await api.GetStageModel(pb.GetStageModelRequest(code="services"), metadata=rep) == saved

        # opportunities carry their model: its entry stage, gates, skips and probabilities apply
        customer = await new_customer(customers_service, rep, "岭东软件服务有限公司")
        create = pb.CreateOpportunityRequest(
            customer_id=customer,
            name="Rollout",
            amount=money("800"),
            expected_close_date="2026-05-31",
            stage_model="no-such-line",
        )
        await expect_error(api.CreateOpportunity(create, metadata=rep), grpc.StatusCode.INVALID_ARGUMENT, "stage_model")
        create.stage_model = "services"
        opp = await api.CreateOpportunity(create, metadata=rep)
        assert (opp.stage_model, opp.stage, opp.probability) == ("services", "qualify", 10)
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
        assert (moved.stage, moved.probability, [f.code for f in moved.facts]) == ("proposal", 70, ["po_number"])
        history = await api.ListStageHistory(pb.ListStageHistoryRequest(opportunity_id=opp.id), metadata=rep)
        assert [(c.to_stage, list(c.skipped_stages), c.facts[0].text) for c in history.changes] == [
            ("proposal", ["demo"], "PO-7")
        ]
        other = await api.CreateOpportunity(
            pb.CreateOpportunityRequest(
                customer_id=customer, name="Default line", amount=money("10"), expected_close_date="2026-05-31"
            ),
            metadata=rep,
        )
        assert (other.stage_model, other.stage) == ("default", "opportunity")

        # a new version may not strand open opportunities in a stage it drops
        await expect_error(
            api.PutStageModel(pb.PutStageModelRequest(model=services_model(proposal=False)), metadata=admin),
            grpc.StatusCode.FAILED_PRECONDITION,
            "proposal",
        )
        renamed = services_model(name="Services (2027)")
        assert (
            await api.PutStageModel(pb.PutStageModelRequest(model=renamed), metadata=admin)
        ).name == "Services (2027)"
        assert (await api.GetOpportunity(pb.GetOpportunityRequest(id=opp.id), metadata=rep)).probability == 70
