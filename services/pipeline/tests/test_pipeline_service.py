"""The pipeline service through gRPC on SQLite and PostgreSQL, next to the real customers and
contracts services (their own databases, the same NATS): opportunities through the stage gates
(with recorded violations), customer checks, scope, bad input, leads (conversion, follow-ups from
activities' events, rule-based assignment), quotes priced from the contracts catalogue, the
commit flag, forecast, and the SLA scheduler running in the background on a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
from sqlalchemy import select

from salesgrid.contracts.v1 import contracts_pb2 as kpb
from salesgrid.contracts.v1 import contracts_pb2_grpc as kpb_grpc
from salesgrid.customers.v1 import customers_pb2 as cpb
from salesgrid.customers.v1 import customers_pb2_grpc as cpb_grpc
from salesgrid.events.v1.activities_events_pb2 import ActivitiesFollowUpLogged
from salesgrid.events.v1.pipeline_events_pb2 import PipelineQuoteState
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
from salesgrid_pipeline.usecases import PipelineUseCases

from pipeline_fixtures import (  # noqa: F401 - fixtures, and builders other folders' tests import from here
    MANAGER_PERMS,
    REP_PERMS,
    START,
    add_assignment_team,
    add_product,
    approval_facts,
    contracts_service,
    customers_service,
    expect_error,
    money,
    new_customer,
    new_opportunity,
    pipeline,
    services_model,
    subjects,
)


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


async def test_quotes_priced_from_the_contracts_catalogue_and_commit_flag(
    database_url: str, nats_url: str, test_keys, customers_service, contracts_service
) -> None:
    async with pipeline(
        database_url,
        nats_url,
        test_keys,
        customers_addr=customers_service.address,
        contracts_addr=contracts_service.address,
    ) as running:
        api = pb_grpc.PipelineStub(running.channel)
        rep = bearer(test_keys.token(principal("rep-1", org_path="/c/r1/t1/", permissions=REP_PERMS)))
        other = bearer(test_keys.token(principal("rep-2", org_path="/c/r2/t2/", permissions=REP_PERMS)))
        manager = bearer(test_keys.token(principal("mgr-1", org_path="/c/r1/", permissions=MANAGER_PERMS)))
        catalogue = kpb_grpc.ContractsStub(contracts_service.channel)
        admin = bearer(test_keys.token(principal("admin", org_path="/c/", permissions={"products:create": "all"})))
        server = await add_product(catalogue, admin, "SRV-1", "Server", CNY="99.99", USD="14")
        support = await add_product(catalogue, admin, "SUP-1", "Support", CNY="1000")
        opp = await new_opportunity(api, customers_service, rep, "华北重工集团有限公司", "Line 2", "5000", "2026-06-30")

        # lines take name and price from the catalogue; discounts and totals in Decimal, per line
        first = await api.CreateQuote(
            pb.CreateQuoteRequest(
                opportunity_id=opp.id,
                lines=[
                    pb.QuoteLineInput(
                        product_id=server.id, quantity="3", discount_kind="percent", discount_value="9.5"
                    ),
                    pb.QuoteLineInput(product_id=support.id, discount_kind="amount", discount_value="100"),
                ],
            ),
            metadata=rep,
        )
        assert (first.version, first.status, first.currency) == (1, "current", "CNY")
        assert [(line.name, line.unit_price, line.gross, line.discount, line.net) for line in first.lines] == [
            ("Server", "99.99", "299.97", "28.50", "271.47"),
            ("Support", "1000.00", "1000.00", "100.00", "900.00"),
        ]
        assert (first.subtotal, first.discount_total, first.total) == ("1299.97", "128.50", "1171.47")
        assert (first.discount_rate, first.discount_approval) == ("10.00", "")  # within the default threshold

        # bad lines name the field and write nothing
        bad_lines = [
            ([pb.QuoteLineInput(product_id="no-such-product")], "lines[0].product_id"),
            (
                [pb.QuoteLineInput(product_id=server.id), pb.QuoteLineInput(product_id=support.id)],
                "lines[1].product_id",
            ),
            ([pb.QuoteLineInput(product_id=server.id, quantity="abc")], "lines[0].quantity"),
            ([pb.QuoteLineInput(product_id=server.id, quantity="0")], "lines[0].quantity"),
            (
                [pb.QuoteLineInput(product_id=server.id, discount_kind="percent", discount_value="150")],
                "lines[0].discount.value",
            ),
            (
                [pb.QuoteLineInput(product_id=server.id, discount_kind="bribe", discount_value="1")],
                "lines[0].discount_kind",
            ),
            ([], "lines"),
        ]
        for lines, field in bad_lines:
            currency = "USD" if field == "lines[1].product_id" else ""  # Support has no USD price
            error = await expect_error(
                api.CreateQuote(
                    pb.CreateQuoteRequest(opportunity_id=opp.id, currency=currency, lines=lines), metadata=rep
                ),
                grpc.StatusCode.INVALID_ARGUMENT,
            )
            assert field_violations(error)[0] == field, (field, error.details())
        await expect_error(
            api.CreateQuote(
                pb.CreateQuoteRequest(
                    opportunity_id=opp.id, currency="XXX", lines=[pb.QuoteLineInput(product_id=server.id)]
                ),
                metadata=rep,
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "lines[0]",
        )
        reader = bearer(
            test_keys.token(
                principal(
                    "rep-1",
                    org_path="/c/r1/t1/",
                    permissions={k: v for k, v in REP_PERMS.items() if k != "quotes:create"},
                )
            )
        )
        await expect_error(
            api.CreateQuote(
                pb.CreateQuoteRequest(opportunity_id=opp.id, lines=[pb.QuoteLineInput(product_id=server.id)]),
                metadata=reader,
            ),
            grpc.StatusCode.PERMISSION_DENIED,
        )
        assert [
            q.version
            for q in (await api.ListQuotes(pb.ListQuotesRequest(opportunity_id=opp.id), metadata=reader)).quotes
        ] == [1]

        # a new version supersedes the current one; only the current version can be accepted, once
        second = await api.CreateQuote(
            pb.CreateQuoteRequest(
                opportunity_id=opp.id, currency="USD", lines=[pb.QuoteLineInput(product_id=server.id, quantity="2")]
            ),
            metadata=rep,
        )
        assert (second.version, second.currency, second.total, second.lines[0].unit_price) == (
            2,
            "USD",
            "28.00",
            "14.00",
        )
        quotes = (await api.ListQuotes(pb.ListQuotesRequest(opportunity_id=opp.id), metadata=manager)).quotes
        assert [(q.version, q.status) for q in quotes] == [(1, "superseded"), (2, "current")]
        await expect_error(
            api.AcceptQuote(pb.AcceptQuoteRequest(id=first.id), metadata=rep),
            grpc.StatusCode.FAILED_PRECONDITION,
            "superseded",
        )
        await expect_error(
            api.AcceptQuote(pb.AcceptQuoteRequest(id=second.id), metadata=other), grpc.StatusCode.PERMISSION_DENIED
        )
        await expect_error(
            api.ListQuotes(pb.ListQuotesRequest(opportunity_id=opp.id), metadata=other),
            grpc.StatusCode.PERMISSION_DENIED,
        )
        accepted = await api.AcceptQuote(pb.AcceptQuoteRequest(id=second.id), metadata=rep)
        assert (accepted.status, accepted.accepted_by) == ("accepted", "rep-1")
        await expect_error(
            api.AcceptQuote(pb.AcceptQuoteRequest(id=second.id), metadata=rep),
            grpc.StatusCode.FAILED_PRECONDITION,
            "already accepted",
        )
        await expect_error(
            api.CreateQuote(
                pb.CreateQuoteRequest(opportunity_id=opp.id, lines=[pb.QuoteLineInput(product_id=server.id)]),
                metadata=rep,
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
            "already accepted",
        )

        # the commit flag, amount and close date: If-Match version required, bad input writes nothing
        update = pb.UpdateOpportunityRequest(id=opp.id, commit=True)
        await expect_error(
            api.UpdateOpportunity(update, metadata=rep), grpc.StatusCode.INVALID_ARGUMENT, "expected_version"
        )
        update.expected_version = opp.version + 5
        await expect_error(api.UpdateOpportunity(update, metadata=rep), grpc.StatusCode.ABORTED, "expected_version")
        for bad in (
            pb.UpdateOpportunityRequest(id=opp.id, amount=money("-1"), expected_version=opp.version),
            pb.UpdateOpportunityRequest(id=opp.id, expected_close_date="2020-01-01", expected_version=opp.version),
            pb.UpdateOpportunityRequest(id=opp.id, expected_version=opp.version),
        ):
            await expect_error(api.UpdateOpportunity(bad, metadata=rep), grpc.StatusCode.INVALID_ARGUMENT)
        await expect_error(
            api.UpdateOpportunity(
                pb.UpdateOpportunityRequest(id=opp.id, commit=True, expected_version=opp.version), metadata=other
            ),
            grpc.StatusCode.PERMISSION_DENIED,
        )
        forecast = await api.GetForecast(pb.GetForecastRequest(), metadata=rep)
        assert [(b.commit_amount, b.pipeline_amount) for b in forecast.buckets] == [("0.00", "5000.00")]
        update.expected_version = opp.version
        updated = await api.UpdateOpportunity(update, metadata=rep)
        assert (updated.commit, updated.amount.amount, updated.version) == (True, "5000", opp.version + 1)
        updated = await api.UpdateOpportunity(
            pb.UpdateOpportunityRequest(
                id=opp.id, amount=money("6000.5"), expected_close_date="2026-07-15", expected_version=updated.version
            ),
            metadata=rep,
        )
        assert (updated.commit, updated.amount.amount, updated.expected_close_date) == (True, "6000.5", "2026-07-15")
        forecast = await api.GetForecast(pb.GetForecastRequest(), metadata=rep)
        assert [(b.month, b.commit_amount) for b in forecast.buckets] == [("2026-07", "6000.50")]
        await api.LoseOpportunity(pb.LoseOpportunityRequest(id=opp.id, reason="budget cut"), metadata=rep)
        await expect_error(
            api.UpdateOpportunity(
                pb.UpdateOpportunityRequest(id=opp.id, commit=False, expected_version=updated.version + 1), metadata=rep
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
            "closed",
        )

        assert [e.removeprefix("salesgrid.pipeline.") for e in await subjects(running)] == [
            "opportunity.created",
            "quote.created",
            "quote.versioned",
            "quote.accepted",
            "opportunity.updated",
            "opportunity.updated",
            "opportunity.lost",
        ]


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


async def test_accepting_a_quote_starts_the_contract_draft(
    database_url: str, nats_url: str, test_keys, customers_service, contracts_service
) -> None:
    async with pipeline(
        database_url,
        nats_url,
        test_keys,
        customers_addr=customers_service.address,
        contracts_addr=contracts_service.address,
    ) as running:
        api = pb_grpc.PipelineStub(running.channel)
        perms = {**REP_PERMS, "contracts:create": "own", "contracts:read": "own"}
        rep = bearer(test_keys.token(principal("rep-1", org_path="/c/r1/t1/", permissions=perms)))
        no_contracts = bearer(test_keys.token(principal("rep-1", org_path="/c/r1/t1/", permissions=REP_PERMS)))
        catalogue = kpb_grpc.ContractsStub(contracts_service.channel)
        admin = bearer(test_keys.token(principal("admin", org_path="/c/", permissions={"products:create": "all"})))
        server = await add_product(catalogue, admin, "SRV-9", "Server", CNY="99.99")
        support = await add_product(catalogue, admin, "SUP-9", "Support", CNY="1000")
        opp = await new_opportunity(api, customers_service, rep, "华中装备制造有限公司", "Line 9", "5000", "2026-06-30")
        customer = opp.customer_id
        quote = await api.CreateQuote(
            pb.CreateQuoteRequest(
                opportunity_id=opp.id,
                lines=[
                    pb.QuoteLineInput(
                        product_id=server.id, quantity="3", discount_kind="percent", discount_value="9.5"
                    ),
                    pb.QuoteLineInput(product_id=support.id, discount_kind="amount", discount_value="100"),
                ],
            ),
            metadata=rep,
        )
        # the catalogue price changes after quoting: the contract keeps the quote's snapshot
        await catalogue.UpdateProduct(
            kpb.UpdateProductRequest(
                id=server.id,
                expected_version=server.version,
                set_prices=True,
                prices=[kpb.ProductPrice(currency="CNY", amount="150")],
            ),
            metadata=bearer(
                test_keys.token(principal("admin", org_path="/c/", permissions={"products:update": "all"}))
            ),
        )

        async def contracts_of_customer() -> list:
            return list(
                (await catalogue.ListContracts(kpb.ListContractsRequest(customer_id=customer), metadata=rep)).contracts
            )

        def block(**changes) -> pb.QuoteContractDraft:
            draft = pb.QuoteContractDraft(
                branch_code="SH", start_date="2026-04-01", end_date="2027-03-31", terms="Net 30"
            )
            for name, value in changes.items():
                setattr(draft, name, value)
            return draft

        # bad contract blocks are refused locally or by the contracts service: the quote stays current
        for bad, field, code in (
            (block(branch_code=""), "contract.branch_code", grpc.StatusCode.INVALID_ARGUMENT),
            (block(start_date="April"), "contract.start_date", grpc.StatusCode.INVALID_ARGUMENT),
            (block(end_date="2026-03-01"), "contract.end_date", grpc.StatusCode.INVALID_ARGUMENT),
            (block(branch_code="1X"), "contract.branch_code", grpc.StatusCode.INVALID_ARGUMENT),
        ):
            error = await expect_error(
                api.AcceptQuote(pb.AcceptQuoteRequest(id=quote.id, contract=bad), metadata=rep), code
            )
            assert field_violations(error)[0] == field, (field, error.details())
        # the contracts service refuses the caller (no contracts:create): nothing accepted
        await expect_error(
            api.AcceptQuote(pb.AcceptQuoteRequest(id=quote.id, contract=block()), metadata=no_contracts),
            grpc.StatusCode.PERMISSION_DENIED,
            "contract",
        )
        listed = (await api.ListQuotes(pb.ListQuotesRequest(opportunity_id=opp.id), metadata=rep)).quotes
        assert [(q.status, q.contract_id) for q in listed] == [("current", "")]
        assert await contracts_of_customer() == []

        # the commit fails after the contract was created: the error names the contract, the quote stays current
        usecases = running.app.ctx.component(PipelineUseCases)
        original_record = usecases.outbox.record

        async def failing_record(*args, **kwargs):
            raise RuntimeError("database went away")

        usecases.outbox.record = failing_record
        try:
            error = await expect_error(
                api.AcceptQuote(pb.AcceptQuoteRequest(id=quote.id, contract=block()), metadata=rep),
                grpc.StatusCode.FAILED_PRECONDITION,
            )
        finally:
            usecases.outbox.record = original_record
        orphans = await contracts_of_customer()
        assert len(orphans) == 1 and orphans[0].id in error.details(), error.details()
        listed = (await api.ListQuotes(pb.ListQuotesRequest(opportunity_id=opp.id), metadata=rep)).quotes
        assert [(q.status, q.contract_id) for q in listed] == [("current", "")]

        # accepted with the contract block: the draft is created with the quote's lines and currency
        accepted = await api.AcceptQuote(pb.AcceptQuoteRequest(id=quote.id, contract=block()), metadata=rep)
        assert accepted.status == "accepted" and accepted.contract_id
        contract = await catalogue.GetContract(kpb.GetContractRequest(id=accepted.contract_id), metadata=rep)
        assert (contract.customer_id, contract.currency, contract.status) == (customer, "CNY", "draft")
        assert (contract.start_date, contract.end_date, contract.terms) == ("2026-04-01", "2027-03-31", "Net 30")
        assert [
            (line.product_id, line.quantity, line.unit_price, line.discount_percent, line.total)
            for line in contract.lines
        ] == [(server.id, "3", "99.99", "9.5", "271.47"), (support.id, "1", "1000.00", "10", "900.00")]
        assert contract.total == accepted.total == "1171.47"
        listed = (await api.ListQuotes(pb.ListQuotesRequest(opportunity_id=opp.id), metadata=rep)).quotes
        assert [(q.status, q.contract_id) for q in listed] == [("accepted", accepted.contract_id)]
        # accepting again starts no second contract
        await expect_error(
            api.AcceptQuote(pb.AcceptQuoteRequest(id=quote.id, contract=block()), metadata=rep),
            grpc.StatusCode.FAILED_PRECONDITION,
            "already accepted",
        )
        assert len(await contracts_of_customer()) == 2

        # quote.accepted carries the contract id
        async with running.app.ctx.sessions() as session:
            envelopes = (
                await session.scalars(
                    select(outbox.c.envelope).where(outbox.c.subject == "salesgrid.pipeline.quote.accepted")
                )
            ).all()
        assert len(envelopes) == 1
        envelope = parse_envelope(envelopes[0])
        assert PipelineQuoteState.FromString(envelope.payload).contract_id == accepted.contract_id
