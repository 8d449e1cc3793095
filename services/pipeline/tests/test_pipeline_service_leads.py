"""Leads through the pipeline service's gRPC API on SQLite and PostgreSQL, next to the real
customers service: the SLA scheduler running in the background on a fake clock (follow-ups from
activities' events, reclaiming, escalation), conversion through customers, and rule-based
assignment (round robin, administration)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
from sqlalchemy import select

from salesgrid.customers.v1 import customers_pb2 as cpb
from salesgrid.customers.v1 import customers_pb2_grpc as cpb_grpc
from salesgrid.events.v1.activities_events_pb2 import ActivitiesFollowUpLogged
from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as pb_grpc
from salesgrid_common.actors import system_actor
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.bus import connect, ensure_stream
from salesgrid_common.events.envelope import EventMeta, build_envelope, parse_envelope
from salesgrid_common.events.tables import outbox
from salesgrid_common.protos import to_timestamp
from salesgrid_dev.directory_seed import add_unit, add_user, replica
from salesgrid_dev.testing import bearer, eventually, field_violations, principal
from salesgrid_pipeline.models import RoundRobinState

from pipeline_fixtures import (
    MANAGER_PERMS,
    REP_PERMS,
    START,
    add_assignment_team,
    expect_error,
    money,
    new_opportunity,
    pipeline,
    subjects,
)
from pipeline_fixtures import customers_service  # noqa: F401 - fixtures


async def publish_follow_up(nats_url: str, lead_id: str, owner_id: str, when: datetime) -> None:
    nc = await connect(nats_url, "test-activities")
    js = nc.jetstream()
    await ensure_stream(js, "activities", 1)
    payload = ActivitiesFollowUpLogged(
        follow_up_id=f"f-{lead_id}-{when:%j}",
        owner_id=owner_id,
        kind="call",
        lead_id=lead_id,
        occurred_at=to_timestamp(when),
    )
    envelope = build_envelope(
        "salesgrid.activities.follow_up.logged",
        "activities",
        payload,
        EventMeta(aggregate_id=payload.follow_up_id, org_path="/c/r1/t1/"),
        when,
    )
    await js.publish(envelope.type, envelope.SerializeToString(), headers={"Nats-Msg-Id": envelope.event_id})
    await nc.drain()


async def test_leads_and_sla_scheduler(database_url: str, nats_url: str, test_keys, customers_service) -> None:
    clock = FakeClock(START)
    async with pipeline(
        database_url, nats_url, test_keys, clock=clock, sla_scan_seconds=0.1, customers_addr=customers_service.address
    ) as running:
        async with replica(running) as session:
            await add_user(session, "mgr-1", "/c/r1/", at=START)
            await add_user(session, "rep-1", "/c/r1/t1/", manager_id="mgr-1", at=START)
            await add_user(session, "rep-2", "/c/r1/t1/", manager_id="mgr-1", at=START)
            await add_user(session, "rep-9", "/c/r9/", at=START)
        api = pb_grpc.PipelineStub(running.channel)
        rep = bearer(test_keys.token(principal("rep-1", org_path="/c/r1/t1/", permissions=REP_PERMS)))
        rep2 = bearer(test_keys.token(principal("rep-2", org_path="/c/r1/t1/", permissions=REP_PERMS)))
        manager = bearer(test_keys.token(principal("mgr-1", org_path="/c/r1/", permissions=MANAGER_PERMS)))

        await expect_error(
            api.CreateLead(pb.CreateLeadRequest(company_name=" ", email="x"), metadata=manager),
            grpc.StatusCode.INVALID_ARGUMENT,
            "company_name",
        )
        pooled = await api.CreateLead(
            pb.CreateLeadRequest(company_name="华东机械", region="east", estimated_amount=money("20000")),
            metadata=manager,
        )
        assert (pooled.status, pooled.owner_id, pooled.org_path) == ("pool", "", "/c/r1/")
        pool = await api.ListLeads(pb.ListLeadsRequest(status="pool"), metadata=rep)
        assert [lead.id for lead in pool.leads] == [pooled.id]  # the pool of his region is visible
        claimed = await api.ClaimLead(pb.ClaimLeadRequest(id=pooled.id), metadata=rep)
        assert (claimed.status, claimed.owner_id, claimed.org_path) == ("assigned", "rep-1", "/c/r1/t1/")
        await expect_error(
            api.ClaimLead(pb.ClaimLeadRequest(id=pooled.id), metadata=rep2), grpc.StatusCode.PERMISSION_DENIED
        )
        await expect_error(
            api.AssignLead(pb.AssignLeadRequest(id=pooled.id, rep_id="rep-9"), metadata=manager),
            grpc.StatusCode.PERMISSION_DENIED,
        )
        assigned = await api.AssignLead(pb.AssignLeadRequest(id=pooled.id, rep_id="rep-2"), metadata=manager)
        assert assigned.owner_id == "rep-2"
        junk = await api.CreateLead(pb.CreateLeadRequest(company_name="Spam Ltd", assign_to="rep-1"), metadata=manager)
        await expect_error(
            api.CloseLead(pb.CloseLeadRequest(id=junk.id), metadata=rep), grpc.StatusCode.INVALID_ARGUMENT, "reason"
        )
        closed = await api.CloseLead(pb.CloseLeadRequest(id=junk.id, reason="duplicate"), metadata=rep)
        assert closed.status == "invalid"

        opp = await new_opportunity(api, customers_service, rep, "华北重工集团", "Line 2", "10", "2026-06-01")

        # follow-ups come from activities' events: only the owner's restarts the 14-day window
        # (rep-1's is ignored, an older one never moves it back)
        await publish_follow_up(nats_url, pooled.id, "rep-1", START + timedelta(days=12))
        await publish_follow_up(nats_url, pooled.id, "rep-2", START + timedelta(days=10))
        await publish_follow_up(nats_url, pooled.id, "rep-2", START + timedelta(days=3))

        async def followed_up() -> pb.Lead | None:
            lead = await api.GetLead(pb.GetLeadRequest(id=pooled.id), metadata=manager)
            return lead if lead.HasField("last_followed_up_at") else None

        lead = await eventually(followed_up)
        assert lead.last_followed_up_at.ToDatetime(tzinfo=UTC) == START + timedelta(days=10)

        # the opportunity stage's SLA is 14 days: overdue after that, escalated after 3 × 14 days;
        # the lead assigned to rep-2 is reclaimed 14 days after its last follow-up, not before
        clock.advance(timedelta(days=15))
        await eventually(lambda: _has(running, "salesgrid.pipeline.sla.overdue"))
        assert (await api.GetLead(pb.GetLeadRequest(id=pooled.id), metadata=manager)).status == "assigned"
        clock.advance(timedelta(days=10))
        await eventually(lambda: _has(running, "salesgrid.pipeline.lead.reclaimed"))
        reclaimed = await api.GetLead(pb.GetLeadRequest(id=pooled.id), metadata=manager)
        assert (reclaimed.status, reclaimed.owner_id) == ("pool", "")
        clock.advance(timedelta(days=20))
        await eventually(lambda: _has(running, "salesgrid.pipeline.sla.escalated"))
        events = await subjects(running)
        assert events.count("salesgrid.pipeline.sla.overdue") == 1  # idempotent across scans
        assert [s for s in events if ".lead." in s] == [
            "salesgrid.pipeline.lead.created",
            "salesgrid.pipeline.lead.claimed",
            "salesgrid.pipeline.lead.assigned",
            "salesgrid.pipeline.lead.created",
            "salesgrid.pipeline.lead.assigned",
            "salesgrid.pipeline.lead.closed",
            "salesgrid.pipeline.lead.reclaimed",
        ]
        assert opp.id
        # the SLA engine and lead reclaim act as the service's automation, never as nobody
        async with running.app.ctx.sessions() as session:
            scheduled = (
                await session.scalars(
                    select(outbox.c.envelope).where(
                        outbox.c.subject.in_(
                            (
                                "salesgrid.pipeline.sla.overdue",
                                "salesgrid.pipeline.sla.escalated",
                                "salesgrid.pipeline.lead.reclaimed",
                            )
                        )
                    )
                )
            ).all()
        assert len(scheduled) == 3 and {parse_envelope(e).actor_id for e in scheduled} == {system_actor("pipeline")}


async def test_lead_conversion_through_customers(
    database_url: str, nats_url: str, test_keys, customers_service
) -> None:
    clock = FakeClock(START)
    async with pipeline(
        database_url, nats_url, test_keys, clock=clock, customers_addr=customers_service.address
    ) as running:
        async with replica(running) as session:
            await add_user(session, "mgr-1", "/c/r1/", at=START)
            await add_user(session, "rep-1", "/c/r1/t1/", manager_id="mgr-1", at=START)
            await add_user(session, "rep-2", "/c/r1/t1/", manager_id="mgr-1", at=START)
        api = pb_grpc.PipelineStub(running.channel)
        customers = cpb_grpc.CustomersStub(customers_service.channel)
        rep = bearer(test_keys.token(principal("rep-1", org_path="/c/r1/t1/", permissions=REP_PERMS)))
        rep2 = bearer(test_keys.token(principal("rep-2", org_path="/c/r1/t1/", permissions=REP_PERMS)))
        manager = bearer(test_keys.token(principal("mgr-1", org_path="/c/r1/", permissions=MANAGER_PERMS)))
        lead = await api.CreateLead(
            pb.CreateLeadRequest(
                company_name="苏州精工科技有限公司",
                industry="machinery",
                estimated_amount=money("80000"),
                assign_to="rep-1",
            ),
            metadata=manager,
        )

        # bad input is refused before anything is written in either service
        error = await expect_error(
            api.ConvertLead(pb.ConvertLeadRequest(id=lead.id, expected_close_date="2020-01-01"), metadata=rep),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert field_violations(error) == ["expected_close_date"]
        error = await expect_error(
            api.ConvertLead(
                pb.ConvertLeadRequest(id=lead.id, expected_close_date="2026-08-31", amount=money("-1")), metadata=rep
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert field_violations(error) == ["amount.amount"]
        await expect_error(
            api.ConvertLead(pb.ConvertLeadRequest(id=lead.id, expected_close_date="2026-08-31"), metadata=rep2),
            grpc.StatusCode.PERMISSION_DENIED,
        )
        assert (await customers.ListCustomers(cpb.ListCustomersRequest(), metadata=rep)).customers == []

        converted = await api.ConvertLead(
            pb.ConvertLeadRequest(id=lead.id, expected_close_date="2026-08-31"), metadata=rep
        )
        assert (converted.lead.status, converted.opportunity.customer_id) == ("converted", converted.customer_id)
        assert (
            converted.opportunity.name,
            converted.opportunity.amount.amount,
            converted.opportunity.owner_id,
            converted.opportunity.stage,
        ) == ("苏州精工科技有限公司", "80000", "rep-1", "opportunity")
        customer = await customers.GetCustomer(cpb.GetCustomerRequest(id=converted.customer_id), metadata=rep)
        assert (customer.legal_name, customer.owner_id, customer.industry) == (
            "苏州精工科技有限公司",
            "rep-1",
            "machinery",
        )
        await expect_error(
            api.ConvertLead(pb.ConvertLeadRequest(id=lead.id, expected_close_date="2026-08-31"), metadata=rep),
            grpc.StatusCode.FAILED_PRECONDITION,
            "converted",
        )

        # the customers service's duplicate check applies: the blocking match names its owner
        twin = await api.CreateLead(
            pb.CreateLeadRequest(company_name="苏州精工科技有限公司", assign_to="rep-2"), metadata=manager
        )
        error = await expect_error(
            api.ConvertLead(
                pb.ConvertLeadRequest(id=twin.id, expected_close_date="2026-08-31", amount=money("5000")), metadata=rep2
            ),
            grpc.StatusCode.ALREADY_EXISTS,
        )
        assert "rep-1" in error.details() and field_violations(error) == ["company_name"]
        assert (await api.GetLead(pb.GetLeadRequest(id=twin.id), metadata=rep2)).status == "assigned"
        assert (await api.ListOpportunities(pb.ListOpportunitiesRequest(), metadata=manager)).opportunities == [
            converted.opportunity
        ]

        events = await subjects(running)
        assert [e.removeprefix("salesgrid.pipeline.") for e in events] == [
            "lead.created",
            "lead.assigned",
            "opportunity.created",
            "lead.converted",
            "lead.created",
            "lead.assigned",
        ]
        async with running.app.ctx.sessions() as session:
            payload = (
                await session.scalars(
                    select(outbox.c.envelope).where(outbox.c.subject == "salesgrid.pipeline.lead.converted")
                )
            ).one()
        assert converted.customer_id.encode() in payload and converted.opportunity.id.encode() in payload


async def _has(running, subject: str) -> bool:
    return subject in await subjects(running)


async def test_lead_assignment_rules_round_robin_and_admin(
    database_url: str, nats_url: str, test_keys, customers_service
) -> None:
    async with pipeline(database_url, nats_url, test_keys, customers_addr=customers_service.address) as running:
        api = pb_grpc.PipelineStub(running.channel)
        await add_assignment_team(running)
        async with replica(running) as session:
            await add_unit(session, "t9", "/c/r9/t9/", at=START)
            await add_unit(session, "t3", "/c/r1/t3/", at=START)  # a team without reps
        rep = bearer(test_keys.token(principal("rep-a", org_path="/c/r1/t1/", permissions=REP_PERMS)))
        own_assigner = bearer(
            test_keys.token(principal("sup-1", org_path="/c/r1/t1/", permissions={**REP_PERMS, "leads:assign": "team"}))
        )
        manager = bearer(test_keys.token(principal("mgr-1", org_path="/c/r1/", permissions=MANAGER_PERMS)))

        # only leads:assign at subtree or all administers the rules
        for caller_metadata in (rep, own_assigner):
            await expect_error(
                api.GetLeadAssignmentRules(pb.GetLeadAssignmentRulesRequest(), metadata=caller_metadata),
                grpc.StatusCode.PERMISSION_DENIED,
            )
        bad_tables = [
            ([pb.LeadAssignmentRule(region="华东", rep_id="rep-c", team_id="t1")], "rules[0]"),
            ([pb.LeadAssignmentRule(region="华东")], "rules[0]"),
            ([pb.LeadAssignmentRule(team_id="t1"), pb.LeadAssignmentRule(team_id="no-such-unit")], "rules[1].team_id"),
            ([pb.LeadAssignmentRule(rep_id="ghost")], "rules[0].rep_id"),
            ([pb.LeadAssignmentRule(rep_id="rep-x")], "rules[0].rep_id"),  # outside the manager's subtree
            ([pb.LeadAssignmentRule(team_id="t9")], "rules[0].team_id"),
        ]
        for rules, field in bad_tables:
            error = await expect_error(
                api.PutLeadAssignmentRules(pb.PutLeadAssignmentRulesRequest(rules=rules), metadata=manager),
                grpc.StatusCode.INVALID_ARGUMENT,
            )
            assert field_violations(error)[0] == field, (field, error.details())
        assert (await api.GetLeadAssignmentRules(pb.GetLeadAssignmentRulesRequest(), metadata=manager)).rules == []

        table = [
            pb.LeadAssignmentRule(industry="Energy", rep_id="rep-c"),
            pb.LeadAssignmentRule(region="华东", team_id="t1"),
            pb.LeadAssignmentRule(region="西北", team_id="t3"),
        ]
        saved = await api.PutLeadAssignmentRules(pb.PutLeadAssignmentRulesRequest(rules=table), metadata=manager)
        assert list(saved.rules) == table
        assert (
            list((await api.GetLeadAssignmentRules(pb.GetLeadAssignmentRulesRequest(), metadata=manager)).rules)
            == table
        )

        async def lead(region: str = "", industry: str = "", assign_to: str = "") -> pb.Lead:
            return await api.CreateLead(
                pb.CreateLeadRequest(
                    company_name=f"{region}{industry} Co", region=region, industry=industry, assign_to=assign_to
                ),
                metadata=manager,
            )

        # round robin within the team's reps (directory order), first matching rule wins
        owners = [(await lead(region="华东")).owner_id for _ in range(3)]
        assert owners == ["rep-a", "rep-b", "rep-a"]
        by_industry = await lead(region="华东", industry="energy")  # case-insensitive match, first rule wins
        assert (by_industry.owner_id, by_industry.org_path, by_industry.status) == ("rep-c", "/c/r1/t2/", "assigned")
        assert (await lead(region="华南")).status == "pool"  # no rule matches
        assert (await lead(region="西北")).status == "pool"  # the team has no reps
        assert (await lead(region="华东", assign_to="rep-c")).owner_id == "rep-c"  # explicit assignee wins
        async with running.app.ctx.sessions() as session:
            state = await session.get(RoundRobinState, "t1")
        assert state is not None and state.last_assignee == "rep-a"  # persisted: every replica continues from here
        assert (await lead(region="华东")).owner_id == "rep-b"

        events = [e.removeprefix("salesgrid.pipeline.") for e in await subjects(running)]
        assert events.count("lead.created") == 8 and events.count("lead.assigned") == 6
