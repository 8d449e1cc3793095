"""The pipeline service through gRPC on SQLite and PostgreSQL, next to the real customers service
(its own database, the same NATS): opportunities through the stage gates (with recorded
violations), customer checks, scope, bad input, the commit flag and the forecast. Leads, quotes
and stage models have their own test_pipeline_service_*.py; the set-up is pipeline_fixtures.py's
(gateway/tests import some of its builders from here)."""

from __future__ import annotations

from datetime import timedelta

import grpc

from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as pb_grpc
from salesgrid_common.clock import FakeClock
from salesgrid_dev.testing import bearer, field_violations, principal

from pipeline_fixtures import (
    MANAGER_PERMS,
    REP_PERMS,
    START,
    approval_facts,
    expect_error,
    money,
    new_customer,
    pipeline,
    subjects,
)
from pipeline_fixtures import customers_service, services_model  # noqa: F401 - fixtures


async def test_opportunity_lifecycle_gates_scope_and_forecast(
    database_url: str, nats_url: str, test_keys, customers_service
) -> None:
    clock = FakeClock(START)
    async with pipeline(
        database_url, nats_url, test_keys, clock=clock, customers_addr=customers_service.address
    ) as running:
        api = pb_grpc.PipelineStub(running.channel)
        rep = bearer(test_keys.token(principal("rep-1", org_path="/c/r1/t1/", permissions=REP_PERMS)))
        other = bearer(test_keys.token(principal("rep-2", org_path="/c/r2/t2/", permissions=REP_PERMS)))
        manager = bearer(test_keys.token(principal("mgr-1", org_path="/c/r1/", permissions=MANAGER_PERMS)))
        cust_1 = await new_customer(customers_service, rep, "华东精密机械有限公司")
        cust_2 = await new_customer(customers_service, other, "西南电力设备有限公司")

        # the customer must exist and be readable by the caller (asked of the customers service)
        for customer_id, metadata in (("no-such-customer", rep), (cust_1, other)):
            error = await expect_error(
                api.CreateOpportunity(
                    pb.CreateOpportunityRequest(
                        customer_id=customer_id, name="Sneaky", amount=money("10"), expected_close_date="2026-09-30"
                    ),
                    metadata=metadata,
                ),
                grpc.StatusCode.INVALID_ARGUMENT,
            )
            assert field_violations(error) == ["customer_id"]

        create = pb.CreateOpportunityRequest(
            customer_id=cust_1,
            name="Plant automation",
            amount=money("300000.50"),
            expected_close_date="2026-09-30",
            competitors=[pb.Competitor(name="Acme", price=money("280000"))],
        )
        opp = await api.CreateOpportunity(create, metadata=rep)
        assert (opp.stage, opp.status, opp.owner_id, opp.org_path, opp.amount.amount) == (
            "opportunity",
            "open",
            "rep-1",
            "/c/r1/t1/",
            "300000.50",
        )
        await api.CreateOpportunity(
            pb.CreateOpportunityRequest(
                customer_id=cust_2, name="Other deal", amount=money("1000"), expected_close_date="2026-05-31"
            ),
            metadata=other,
        )

        # bad input names the field; a duplicate name (case/space-insensitive) is refused
        bad = pb.CreateOpportunityRequest(
            customer_id=cust_1, name="X", amount=money("-5"), expected_close_date="2026-09-30"
        )
        await expect_error(api.CreateOpportunity(bad, metadata=rep), grpc.StatusCode.INVALID_ARGUMENT, "amount.amount")
        bad.amount.CopyFrom(money("abc"))
        await expect_error(api.CreateOpportunity(bad, metadata=rep), grpc.StatusCode.INVALID_ARGUMENT, "amount.amount")
        bad.amount.CopyFrom(money("5", "XXX"))
        await expect_error(
            api.CreateOpportunity(bad, metadata=rep), grpc.StatusCode.INVALID_ARGUMENT, "amount.currency"
        )
        bad.amount.CopyFrom(money("5"))
        bad.expected_close_date = "2020-01-01"
        await expect_error(
            api.CreateOpportunity(bad, metadata=rep), grpc.StatusCode.INVALID_ARGUMENT, "expected_close_date"
        )
        create.name = "  plant  AUTOMATION "
        await expect_error(api.CreateOpportunity(create, metadata=rep), grpc.StatusCode.ABORTED, "name")

        # scope: a rep cannot read another rep's record; the manager sees his subtree only
        await expect_error(
            api.GetOpportunity(pb.GetOpportunityRequest(id=opp.id), metadata=other), grpc.StatusCode.PERMISSION_DENIED
        )
        listed = await api.ListOpportunities(pb.ListOpportunitiesRequest(), metadata=manager)
        assert [o.id for o in listed.opportunities] == [opp.id]
        mine = await api.ListOpportunities(pb.ListOpportunitiesRequest(page_size=1), metadata=other)
        assert len(mine.opportunities) == 1 and mine.next_page_token == ""
        assert not mine.HasField("total")  # counted only when asked

        # a gate without its facts is refused, names them, and is recorded as a violation
        error = await expect_error(
            api.AdvanceOpportunity(pb.AdvanceOpportunityRequest(id=opp.id), metadata=rep),
            grpc.StatusCode.FAILED_PRECONDITION,
            "budget",
        )
        assert "decision_chain_visits" in error.details()
        await expect_error(
            api.AdvanceOpportunity(
                pb.AdvanceOpportunityRequest(id=opp.id, target_stage="bidding", facts=approval_facts()), metadata=rep
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
            "cannot be skipped",
        )
        violations = await api.ListGateViolations(pb.ListGateViolationsRequest(actor_id="rep-1"), metadata=manager)
        assert len(violations.violations) == 2
        assert "budget" in violations.violations[0].missing_facts
        assert violations.violations[1].unskippable_stages == ["approval", "formal_communication"]
        assert (await api.ListGateViolations(pb.ListGateViolationsRequest(), metadata=other)).violations == []

        clock.advance(timedelta(days=3))
        moved = await api.AdvanceOpportunity(
            pb.AdvanceOpportunityRequest(id=opp.id, facts=approval_facts(), expected_version=opp.version), metadata=rep
        )
        assert (moved.stage, moved.version, moved.probability) == ("approval", 2, 25)
        assert {f.code for f in moved.facts} >= {"budget", "decision_chain_visits"}
        await expect_error(
            api.AdvanceOpportunity(pb.AdvanceOpportunityRequest(id=opp.id, expected_version=1), metadata=rep),
            grpc.StatusCode.ABORTED,
            "expected_version",
        )
        back = await api.RegressOpportunity(
            pb.RegressOpportunityRequest(id=opp.id, target_stage="opportunity", reason="budget withdrawn"), metadata=rep
        )
        assert back.stage == "opportunity"
        await api.AdvanceOpportunity(pb.AdvanceOpportunityRequest(id=opp.id), metadata=rep)  # facts are kept
        lost = await api.LoseOpportunity(pb.LoseOpportunityRequest(id=opp.id, reason="price"), metadata=rep)
        assert (lost.status, lost.stage, lost.lost_reason) == ("lost", "lost", "price")
        await expect_error(
            api.AdvanceOpportunity(pb.AdvanceOpportunityRequest(id=opp.id), metadata=rep),
            grpc.StatusCode.FAILED_PRECONDITION,
            "closed",
        )

        history = await api.ListStageHistory(pb.ListStageHistoryRequest(opportunity_id=opp.id), metadata=manager)
        assert [(c.kind, c.from_stage, c.to_stage, c.by) for c in history.changes] == [
            ("advance", "opportunity", "approval", "rep-1"),
            ("regress", "approval", "opportunity", "rep-1"),
            ("advance", "opportunity", "approval", "rep-1"),
            ("lost", "approval", "lost", "rep-1"),
        ]
        assert len(history.changes[0].facts) == 7 and history.changes[2].facts == []

        forecast = await api.GetForecast(pb.GetForecastRequest(group_by="owner"), metadata=manager)
        assert forecast.buckets == []  # the only deal in his subtree is lost
        forecast = await api.GetForecast(pb.GetForecastRequest(), metadata=other)
        assert [(b.key, b.month, b.amount, b.weighted_amount) for b in forecast.buckets] == [
            ("rep-2", "2026-05", "1000.00", "100.00")
        ]

        model = await api.GetStageModel(pb.GetStageModelRequest(), metadata=rep)
        assert [s.code for s in model.stages][:3] == ["lead", "opportunity", "approval"]

        assert await subjects(running) == [
            "salesgrid.pipeline.opportunity.created",
            "salesgrid.pipeline.opportunity.created",
            "salesgrid.pipeline.gate.violated",
            "salesgrid.pipeline.gate.violated",
            "salesgrid.pipeline.opportunity.stage_changed",
            "salesgrid.pipeline.opportunity.stage_changed",
            "salesgrid.pipeline.opportunity.stage_changed",
            "salesgrid.pipeline.opportunity.lost",
        ]

        # the total, when asked: the whole list in the caller's scope with the same filters, on every page
        second = await api.CreateOpportunity(
            pb.CreateOpportunityRequest(
                customer_id=cust_1, name="Second line", amount=money("500"), expected_close_date="2026-10-31"
            ),
            metadata=rep,
        )
        first_page = await api.ListOpportunities(
            pb.ListOpportunitiesRequest(page_size=1, include_total=True), metadata=manager
        )
        assert (len(first_page.opportunities), first_page.total) == (1, 2) and first_page.next_page_token
        last_page = await api.ListOpportunities(
            pb.ListOpportunitiesRequest(page_size=1, page_token=first_page.next_page_token, include_total=True),
            metadata=manager,
        )
        assert (len(last_page.opportunities), last_page.total, last_page.next_page_token) == (1, 2, "")
        for who, expected in ((other, 1), (rep, 2)):  # a rep's total counts only his own records
            assert (
                await api.ListOpportunities(pb.ListOpportunitiesRequest(include_total=True), metadata=who)
            ).total == expected
        filtered = await api.ListOpportunities(
            pb.ListOpportunitiesRequest(status="open", page_size=5, include_total=True), metadata=manager
        )
        assert ([o.id for o in filtered.opportunities], filtered.total) == ([second.id], 1)  # filters apply
