"""Special-discount approval (特批折扣) through gRPC on SQLite and PostgreSQL, next to the real
customers and contracts services: a quote whose deepest line discount passes its unit's threshold
is routed up the creator's management chain, cannot be accepted until every step approved, a
rejection needs a reason, nobody approves his own discount, and admins set the thresholds per unit
(inherited down the tree). Every step and decision is an event (identity audits every event)."""

from __future__ import annotations

from datetime import timedelta

import grpc

from salesgrid.contracts.v1 import contracts_pb2_grpc as kpb_grpc
from salesgrid.events.v1.pipeline_events_pb2 import PipelineDiscountApprovalStep, PipelineQuoteState
from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as pb_grpc
from salesgrid_common.clock import FakeClock
from salesgrid_dev.directory_seed import add_unit, add_user, replica
from salesgrid_dev.testing import bearer, field_violations, principal
from salesgrid_pipeline.usecases import PipelineUseCases
from pipeline_fixtures import (  # noqa: F401 - fixtures
    MANAGER_PERMS,
    REP_PERMS,
    START,
    add_product,
    contracts_service,
    customers_service,
    events,
    expect_error,
    money,
    new_customer,
    new_opportunity,
    pipeline,
)

APPROVER_PERMS = {**MANAGER_PERMS, "quotes:approve": "subtree"}
PEOPLE = [
    ("rep-1", "/c/r1/t1/", "sup-1", "rep"),
    ("sup-1", "/c/r1/t1/", "mgr-1", "supervisor"),
    ("mgr-1", "/c/r1/", "dir-1", "manager"),
    ("dir-1", "/c/", None, "director"),
    ("rep-9", "/c/r1/t1/", None, "rep"),
]


async def seed_directory(running) -> None:  # type: ignore[no-untyped-def]
    async with replica(running) as session:
        for unit, parent, path in (("c", None, "/c/"), ("r1", "c", "/c/r1/"), ("t1", "r1", "/c/r1/t1/")):
            await add_unit(session, unit, path, parent_id=parent, at=START)
        for user_id, path, manager, role in PEOPLE:
            await add_user(session, user_id, path, manager_id=manager, roles=role, at=START)


def line(product_id: str, percent: str) -> pb.QuoteLineInput:
    return pb.QuoteLineInput(product_id=product_id, quantity="1", discount_kind="percent", discount_value=percent)


async def test_special_discount_needs_approval_up_the_chain_before_acceptance(
    database_url: str, nats_url: str, test_keys, customers_service, contracts_service
) -> None:
    clock = FakeClock(START)
    async with pipeline(
        database_url,
        nats_url,
        test_keys,
        clock=clock,
        customers_addr=customers_service.address,
        contracts_addr=contracts_service.address,
        # the test reads events from the outbox after moving the clock 25 h on: keep them
        outbox_retention_hours=72,
    ) as running:
        await seed_directory(running)
        api, approvals = pb_grpc.PipelineStub(running.channel), pb_grpc.QuoteApprovalsStub(running.channel)

        def as_(user: str, path: str, perms: dict[str, str]) -> tuple[tuple[str, str], ...]:
            return bearer(test_keys.token(principal(user, org_path=path, permissions=perms)))

        rep = as_("rep-1", "/c/r1/t1/", REP_PERMS)
        rep_approver = as_("rep-1", "/c/r1/t1/", {**REP_PERMS, "quotes:approve": "own"})
        sup, mgr = as_("sup-1", "/c/r1/t1/", APPROVER_PERMS), as_("mgr-1", "/c/r1/", APPROVER_PERMS)
        director = as_("dir-1", "/c/", APPROVER_PERMS)
        admin = as_("admin", "/c/", {"org_units:update": "all", "org_units:read": "all", "products:create": "all"})
        catalogue = kpb_grpc.ContractsStub(contracts_service.channel)
        product = (await add_product(catalogue, admin, "P-1", "Pump", CNY="1000")).id
        opp = await new_opportunity(api, customers_service, rep, "华东特批测试有限公司", "Pumps", "5000", "2026-06-30")

        # the default policy: 10% passes without approval, 10.5% does not
        within = await api.CreateQuote(
            pb.CreateQuoteRequest(opportunity_id=opp.id, lines=[line(product, "10")]), metadata=rep
        )
        assert (within.discount_rate, within.discount_approval, list(within.approval_steps)) == ("10.00", "", [])

        # admins set a unit's thresholds; bad input names the field; the subtree inherits them
        for threshold, director_above, field in (
            ("abc", "20", "threshold_percent"),
            ("12", "8", "director_above_percent"),
            ("5", "150", "director_above_percent"),
        ):
            error = await expect_error(
                approvals.SetDiscountPolicy(
                    pb.DiscountPolicy(
                        org_unit_id="r1", threshold_percent=threshold, director_above_percent=director_above
                    ),
                    metadata=admin,
                ),
                grpc.StatusCode.INVALID_ARGUMENT,
            )
            assert field in field_violations(error), error.details()
        await expect_error(
            approvals.SetDiscountPolicy(
                pb.DiscountPolicy(org_unit_id="nowhere", threshold_percent="5", director_above_percent="15"),
                metadata=admin,
            ),
            grpc.StatusCode.NOT_FOUND,
            "org_unit_id",
        )
        await expect_error(
            approvals.GetDiscountPolicy(pb.GetDiscountPolicyRequest(org_unit_id="nowhere"), metadata=admin),
            grpc.StatusCode.NOT_FOUND,
            "org_unit_id",
        )
        await expect_error(
            approvals.SetDiscountPolicy(
                pb.DiscountPolicy(org_unit_id="r1", threshold_percent="50", director_above_percent="60"), metadata=mgr
            ),
            grpc.StatusCode.PERMISSION_DENIED,
        )
        await approvals.SetDiscountPolicy(
            pb.DiscountPolicy(org_unit_id="r1", threshold_percent="8", director_above_percent="15"), metadata=admin
        )
        inherited = await approvals.GetDiscountPolicy(pb.GetDiscountPolicyRequest(org_unit_id="t1"), metadata=admin)
        assert (inherited.threshold_percent, inherited.director_above_percent, inherited.inherited) == ("8", "15", True)

        # 10% now passes the unit's 8%: the manager must approve (the supervisor is below the role)
        v2 = await api.CreateQuote(
            pb.CreateQuoteRequest(opportunity_id=opp.id, lines=[line(product, "10")]), metadata=rep
        )
        assert (v2.discount_approval, [(s.role, s.approver_id, s.status) for s in v2.approval_steps]) == (
            "pending",
            [("manager", "mgr-1", "pending")],
        )
        await expect_error(
            api.AcceptQuote(pb.AcceptQuoteRequest(id=v2.id), metadata=rep),
            grpc.StatusCode.FAILED_PRECONDITION,
            "awaiting approval",
        )

        # a step waiting 24 hours reminds its approver, once per wait
        reminders = running.app.ctx.component(PipelineUseCases).send_discount_reminders
        clock.advance(timedelta(hours=23))
        await reminders()
        clock.advance(timedelta(hours=2))
        await reminders()
        await reminders()
        reminded = await events(
            running, "salesgrid.pipeline.discount_approval.step_reminded", PipelineDiscountApprovalStep
        )
        assert [(s.quote_version, s.approver_id) for s in reminded] == [(2, "mgr-1")]
        decide = pb.DecideQuoteDiscountRequest(quote_id=v2.id, approve=True)
        await expect_error(approvals.DecideQuoteDiscount(decide, metadata=rep), grpc.StatusCode.PERMISSION_DENIED)
        await expect_error(
            approvals.DecideQuoteDiscount(decide, metadata=rep_approver), grpc.StatusCode.FAILED_PRECONDITION, "his own"
        )
        await expect_error(approvals.DecideQuoteDiscount(decide, metadata=sup), grpc.StatusCode.PERMISSION_DENIED)
        pending = await approvals.ListPendingQuoteApprovals(pb.ListPendingQuoteApprovalsRequest(), metadata=mgr)
        assert [q.id for q in pending.quotes] == [v2.id]
        assert not (
            await approvals.ListPendingQuoteApprovals(pb.ListPendingQuoteApprovalsRequest(), metadata=director)
        ).quotes
        await expect_error(
            approvals.DecideQuoteDiscount(pb.DecideQuoteDiscountRequest(quote_id=v2.id), metadata=mgr),
            grpc.StatusCode.INVALID_ARGUMENT,
            "comment",
        )
        rejected = await approvals.DecideQuoteDiscount(
            pb.DecideQuoteDiscountRequest(quote_id=v2.id, comment="too deep for this account"), metadata=mgr
        )
        assert (rejected.discount_approval, rejected.approval_steps[0].status) == ("rejected", "rejected")
        await expect_error(
            api.AcceptQuote(pb.AcceptQuoteRequest(id=v2.id), metadata=rep),
            grpc.StatusCode.FAILED_PRECONDITION,
            "rejected",
        )

        # a rep with nobody above him cannot issue a special discount; nothing is written
        lonely = as_("rep-9", "/c/r1/t1/", {**REP_PERMS, "opportunities:read": "team", "quotes:create": "team"})
        await expect_error(
            api.CreateQuote(pb.CreateQuoteRequest(opportunity_id=opp.id, lines=[line(product, "30")]), metadata=lonely),
            grpc.StatusCode.FAILED_PRECONDITION,
            "chain",
        )
        assert [
            q.version for q in (await api.ListQuotes(pb.ListQuotesRequest(opportunity_id=opp.id), metadata=rep)).quotes
        ] == [1, 2]

        # past the director's threshold: manager then director, in turn
        v3 = await api.CreateQuote(
            pb.CreateQuoteRequest(opportunity_id=opp.id, lines=[line(product, "20")]), metadata=rep
        )
        assert [(s.role, s.approver_id) for s in v3.approval_steps] == [("manager", "mgr-1"), ("director", "dir-1")]
        decide = pb.DecideQuoteDiscountRequest(quote_id=v3.id, approve=True)
        await expect_error(
            approvals.DecideQuoteDiscount(decide, metadata=director), grpc.StatusCode.FAILED_PRECONDITION, "out of turn"
        )
        halfway = await approvals.DecideQuoteDiscount(decide, metadata=mgr)
        assert (halfway.discount_approval, [s.status for s in halfway.approval_steps]) == (
            "pending",
            ["approved", "pending"],
        )
        await expect_error(
            api.AcceptQuote(pb.AcceptQuoteRequest(id=v3.id), metadata=rep),
            grpc.StatusCode.FAILED_PRECONDITION,
            "awaiting approval",
        )
        approved = await approvals.DecideQuoteDiscount(decide, metadata=director)
        assert approved.discount_approval == "approved"
        await expect_error(
            approvals.DecideQuoteDiscount(decide, metadata=director), grpc.StatusCode.FAILED_PRECONDITION, "quote_id"
        )
        accepted = await api.AcceptQuote(pb.AcceptQuoteRequest(id=v3.id), metadata=rep)
        assert (accepted.status, accepted.discount_approval) == ("accepted", "approved")

        steps = await events(
            running, "salesgrid.pipeline.discount_approval.step_activated", PipelineDiscountApprovalStep
        )
        assert [(s.quote_version, s.approver_id) for s in steps] == [(2, "mgr-1"), (3, "mgr-1"), (3, "dir-1")]
        decided = [
            (s.quote_version, s.approver_id, s.comment)
            for s in await events(
                running, "salesgrid.pipeline.discount_approval.step_rejected", PipelineDiscountApprovalStep
            )
        ]
        assert decided == [(2, "mgr-1", "too deep for this account")]
        settled = await events(running, "salesgrid.pipeline.quote.discount_approved", PipelineQuoteState)
        assert [(q.version, q.discount_rate, q.discount_approval) for q in settled] == [(3, "20.00", "approved")]
        assert len(await events(running, "salesgrid.pipeline.discount_policy.set", PipelineQuoteState)) == 1
