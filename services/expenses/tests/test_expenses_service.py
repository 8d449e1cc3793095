"""The expenses service end to end through gRPC on SQLite and PostgreSQL: claims with receipts,
daily limits from the inherited policy, approval up the replicated management chain (never by
the owner), payment, scope, bad input and the outbox events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from salesgrid.customers.v1 import customers_pb2 as cpb
from salesgrid.customers.v1 import customers_pb2_grpc as cpb_grpc
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.expenses_events_pb2 import ExpensesApprovalStep, ExpensesClaimState
from salesgrid.expenses.v1 import expenses_pb2 as pb
from salesgrid.expenses.v1 import expenses_pb2_grpc as pb_grpc
from salesgrid.pipeline.v1 import pipeline_pb2 as ppb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as ppb_grpc
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.tables import outbox
from salesgrid_dev.directory_seed import add_unit, add_user, caller, replica
from salesgrid_dev.testing import (
    TestKeys,
    bearer,
    consumer_applied,
    eventually,
    field_violations,
    principal,
    publish_customer_merge,
    run_service,
)
from salesgrid_expenses.app import DEFINITION, MIGRATIONS
from salesgrid_expenses.settings import ExpensesSettings
from salesgrid_expenses.usecases import ExpensesUseCases
from sqlalchemy import select

COMPANY, BRANCH, TEAM, OTHER = "/c/", "/c/b1/", "/c/b1/t1/", "/c/b2/t2/"
UNITS = [("c", None, COMPANY), ("b1", "c", BRANCH), ("t1", "b1", TEAM), ("b2", "c", "/c/b2/"), ("t2", "b2", OTHER)]
OWN = {"expenses:read": "own", "expenses:create": "own", "expenses:update": "own"}
# user id, unit, org path, role, manager, permissions
PEOPLE = [
    ("rep-1", "t1", TEAM, "rep", "sup-1", OWN),
    ("sup-1", "t1", TEAM, "supervisor", "mgr-1", {**OWN, "expenses:read": "team", "expenses:approve": "team"}),
    ("mgr-1", "b1", BRANCH, "manager", "dir-1", {**OWN, "expenses:read": "subtree", "expenses:approve": "subtree"}),
    ("dir-1", "c", COMPANY, "director", None, {"expenses:read": "all", "expenses:approve": "all"}),
    ("rep-2", "t2", OTHER, "rep", "dir-1", OWN),
    ("fin-1", "c", COMPANY, "finance", None, {"expenses:read": "all", "expenses:pay": "all"}),
]
PDF, PNG = b"%PDF-1.7\n1 0 obj\n", b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@dataclass
class Running:
    api: pb_grpc.ExpensesStub
    tokens: dict[str, tuple[tuple[str, str], ...]]
    service: object
    clock: FakeClock
    peers: StandIns


class StandIns(cpb_grpc.CustomersServicer, ppb_grpc.PipelineServicer):
    """The customers and pipeline services as far as expenses asks them: what the caller (whose
    token must be forwarded) may read, and an opportunity's customer."""

    customers = {"cust-1", "cust-2"}
    opportunities = {"opp-1": "cust-1", "opp-2": "cust-2"}

    def __init__(self) -> None:
        self.callers: list[str] = []

    def _seen(self, context: grpc.aio.ServicerContext) -> None:
        self.callers.append(dict(context.invocation_metadata()).get("authorization", ""))

    async def GetCustomer(self, request, context):  # type: ignore[no-untyped-def]
        self._seen(context)
        if request.id not in self.customers:
            await context.abort(grpc.StatusCode.NOT_FOUND, "customer not found")
        return cpb.Customer(id=request.id)

    async def GetOpportunity(self, request, context):  # type: ignore[no-untyped-def]
        self._seen(context)
        if request.id not in self.opportunities:
            await context.abort(grpc.StatusCode.NOT_FOUND, "opportunity not found")
        return ppb.Opportunity(id=request.id, customer_id=self.opportunities[request.id])


@contextlib.asynccontextmanager
async def stand_ins() -> AsyncIterator[tuple[str, StandIns]]:
    servicer, server = StandIns(), grpc.aio.server()
    cpb_grpc.add_CustomersServicer_to_server(servicer, server)
    ppb_grpc.add_PipelineServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}", servicer
    finally:
        await server.stop(0)


@pytest.fixture
async def expenses(database_url: str, nats_url: str, test_keys: TestKeys) -> AsyncIterator[Running]:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    async with (
        stand_ins() as (peers, seen),
        run_service(
            DEFINITION,
            MIGRATIONS,
            database_url,
            nats_url,
            test_keys,
            clock=clock,
            settings_cls=ExpensesSettings,
            customers_addr=peers,
            pipeline_addr=peers,
        ) as running,
    ):
        async with replica(running) as session:
            for unit_id, parent, path in UNITS:
                await add_unit(session, unit_id, path, parent_id=parent, at=clock())
            for user_id, unit, path, role, manager, _perms in PEOPLE:
                await add_user(session, user_id, path, unit_id=unit, manager_id=manager, roles=role, at=clock())
        tokens = {
            user_id: caller(test_keys, user_id, path, perms, unit_id=unit)
            for user_id, unit, path, _role, _manager, perms in PEOPLE
        }
        tokens["admin"] = bearer(
            test_keys.token(
                principal(user_id="admin", permissions={"org_units:update": "all", "org_units:read": "all"})
            )
        )
        yield Running(pb_grpc.ExpensesStub(running.channel), tokens, running, clock, seen)


async def failure(call) -> tuple[grpc.StatusCode, list[str]]:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value.code(), field_violations(caught.value)


def line(category: str = "travel", amount: str = "300.00", **links: str) -> pb.ExpenseLineInput:
    return pb.ExpenseLineInput(category=category, spent_on="2026-03-01", amount=amount, **links)


async def filed(x: Running, owner: str, *lines: pb.ExpenseLineInput) -> pb.ExpenseClaim:
    """A claim with a receipt on every line, submitted."""
    claim = await x.api.CreateClaim(
        pb.CreateClaimRequest(title="trip", currency="CNY", lines=lines), metadata=x.tokens[owner]
    )
    for item in claim.lines:
        claim = await x.api.AddReceipt(
            pb.AddReceiptRequest(
                claim_id=claim.id,
                line_no=item.line_no,
                file_name=f"r{item.line_no}.pdf",
                content_type="application/pdf",
                content=PDF + item.line_no.to_bytes(2, "big"),
            ),
            metadata=x.tokens[owner],
        )
    return await x.api.SubmitClaim(pb.ClaimActionRequest(id=claim.id), metadata=x.tokens[owner])


async def envelopes(x: Running) -> list[Envelope]:
    """The outbox in the relay's order (UUIDv7 event ids; the test clock freezes timestamps)."""
    async with x.service.app.ctx.sessions() as session:  # type: ignore[attr-defined]
        rows = (await session.execute(select(outbox.c.envelope).order_by(outbox.c.event_id))).all()
    return [Envelope.FromString(row.envelope) for row in rows]


async def test_claim_from_draft_to_paid_with_receipts_events_and_scope(expenses: Running) -> None:
    x = expenses
    claim = await x.api.CreateClaim(
        pb.CreateClaimRequest(
            title="Shanghai visit",
            currency="CNY",
            lines=[
                line(visit_id="visit-1", customer_id="cust-1"),
                line("entertainment", "880.00", customer_id="cust-1", opportunity_id="opp-1"),
            ],
        ),
        metadata=x.tokens["rep-1"],
    )
    assert (claim.status, claim.total, claim.owner_id, claim.org_path) == ("draft", "1180.00", "rep-1", TEAM)
    # links were checked on the rep's behalf in the owning services
    assert set(x.peers.callers) == {x.tokens["rep-1"][0][1]}

    # an opportunity brings its customer; another customer's opportunity, or a customer the rep
    # may not read, is refused naming the line, and nothing is written
    linked = await x.api.CreateClaim(
        pb.CreateClaimRequest(currency="CNY", lines=[line("entertainment", "50.00", opportunity_id="opp-2")]),
        metadata=x.tokens["rep-1"],
    )
    assert (linked.lines[0].customer_id, linked.lines[0].opportunity_id) == ("cust-2", "opp-2")
    assert await failure(
        x.api.CreateClaim(
            pb.CreateClaimRequest(
                currency="CNY",
                lines=[line(), line(customer_id="cust-1", opportunity_id="opp-2"), line(customer_id="cust-secret")],
            ),
            metadata=x.tokens["rep-1"],
        )
    ) == (grpc.StatusCode.INVALID_ARGUMENT, ["lines[1].opportunity_id", "lines[2].customer_id"])
    assert await failure(
        x.api.CreateClaim(
            pb.CreateClaimRequest(currency="CNY", lines=[line(opportunity_id="opp-404")]), metadata=x.tokens["rep-1"]
        )
    ) == (grpc.StatusCode.INVALID_ARGUMENT, ["lines[0].opportunity_id"])

    # no receipt yet: the line missing one is named
    assert await failure(x.api.SubmitClaim(pb.ClaimActionRequest(id=claim.id), metadata=x.tokens["rep-1"])) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["lines[0].receipts", "lines[1].receipts"],
    )
    # a renamed executable is refused by its content; nothing is attached
    code, fields = await failure(
        x.api.AddReceipt(
            pb.AddReceiptRequest(
                claim_id=claim.id, line_no=1, file_name="r.pdf", content_type="application/pdf", content=b"MZ\x90"
            ),
            metadata=x.tokens["rep-1"],
        )
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["content"])
    claim = await x.api.AddReceipt(
        pb.AddReceiptRequest(
            claim_id=claim.id,
            line_no=1,
            file_name="taxi.pdf",
            content_type="application/pdf",
            content=PDF,
            expected_version=claim.version,
        ),
        metadata=x.tokens["rep-1"],
    )
    claim = await x.api.AddReceipt(
        pb.AddReceiptRequest(
            claim_id=claim.id, line_no=2, file_name="dinner.png", content_type="image/png", content=PNG
        ),
        metadata=x.tokens["rep-1"],
    )
    assert [(r.line_no, r.content_type, r.size_bytes) for r in claim.receipts] == [
        (1, "application/pdf", len(PDF)),
        (2, "image/png", len(PNG)),
    ]
    stored = await x.api.GetReceipt(
        pb.GetReceiptRequest(claim_id=claim.id, receipt_id=claim.receipts[1].id), metadata=x.tokens["rep-1"]
    )
    assert stored.content == PNG

    # scope: another branch's rep does not even learn that it exists; the manager above sees it
    assert (await failure(x.api.GetClaim(pb.GetClaimRequest(id=claim.id), metadata=x.tokens["rep-2"])))[
        0
    ] is grpc.StatusCode.NOT_FOUND
    assert not (await x.api.ListClaims(pb.ListClaimsRequest(), metadata=x.tokens["rep-2"])).claims
    assert [c.id for c in (await x.api.ListClaims(pb.ListClaimsRequest(), metadata=x.tokens["mgr-1"])).claims] == [
        linked.id,
        claim.id,
    ]

    submitted = await x.api.SubmitClaim(pb.ClaimActionRequest(id=claim.id), metadata=x.tokens["rep-1"])
    assert submitted.status == "submitted"
    assert [(s.approver_id, s.role, s.status) for s in submitted.approval_steps] == [("sup-1", "supervisor", "pending")]
    # only the current approver decides; nobody pays what is not approved
    assert (await failure(x.api.ApproveClaim(pb.ClaimDecisionRequest(id=claim.id), metadata=x.tokens["mgr-1"])))[
        0
    ] is grpc.StatusCode.PERMISSION_DENIED
    assert (
        await failure(
            x.api.PayClaim(
                pb.PayClaimRequest(id=claim.id, paid_on="2026-03-02", payment_reference="B1"),
                metadata=x.tokens["fin-1"],
            )
        )
    )[0] is grpc.StatusCode.FAILED_PRECONDITION
    approved = await x.api.ApproveClaim(pb.ClaimDecisionRequest(id=claim.id, comment="ok"), metadata=x.tokens["sup-1"])
    assert approved.status == "approved"
    # a rep may not pay; finance pays with a reference
    assert (
        await failure(
            x.api.PayClaim(
                pb.PayClaimRequest(id=claim.id, paid_on="2026-03-02", payment_reference="B1"),
                metadata=x.tokens["rep-1"],
            )
        )
    )[0] is grpc.StatusCode.PERMISSION_DENIED
    assert (
        await failure(x.api.PayClaim(pb.PayClaimRequest(id=claim.id, paid_on="2026-03-02"), metadata=x.tokens["fin-1"]))
    ) == (grpc.StatusCode.INVALID_ARGUMENT, ["payment_reference"])
    paid = await x.api.PayClaim(
        pb.PayClaimRequest(
            id=claim.id, paid_on="2026-03-02", payment_reference="BANK-77", expected_version=approved.version
        ),
        metadata=x.tokens["fin-1"],
    )
    assert (paid.status, paid.paid_on, paid.payment_reference) == ("paid", "2026-03-02", "BANK-77")

    events = await envelopes(x)
    assert [e.type for e in events if ".approval." not in e.type] == [
        "salesgrid.expenses.claim.created",
        "salesgrid.expenses.claim.created",
        "salesgrid.expenses.receipt.attached",
        "salesgrid.expenses.receipt.attached",
        "salesgrid.expenses.claim.submitted",
        "salesgrid.expenses.claim.approved",
        "salesgrid.expenses.claim.paid",
    ]
    assert {e.type for e in events if ".approval." in e.type} == {
        "salesgrid.expenses.approval.step_activated",
        "salesgrid.expenses.approval.step_approved",
    }
    last = events[-1]
    state = ExpensesClaimState.FromString(last.payload)
    assert (last.actor_id, last.aggregate_id, last.org_path) == ("fin-1", claim.id, TEAM)
    assert (state.total, state.currency, state.owner_id) == ("1180.00", "CNY", "rep-1")
    assert [(l.category, l.amount, l.customer_id, l.opportunity_id, l.visit_id) for l in state.lines] == [
        ("travel", "300.00", "cust-1", "", "visit-1"),
        ("entertainment", "880.00", "cust-1", "opp-1", ""),
    ]


async def test_policy_limits_inherited_director_threshold_and_no_self_approval(expenses: Running) -> None:
    x = expenses
    policy = await x.api.SetPolicy(
        pb.ExpensePolicy(
            org_unit_id="b1",
            currency="CNY",
            director_above="1000",
            limits=[pb.CategoryLimit(category="travel", daily_limit="500")],
        ),
        metadata=x.tokens["admin"],
    )
    assert policy.source_unit_id == "b1"
    inherited = await x.api.GetPolicy(pb.GetPolicyRequest(org_unit_id="t1"), metadata=x.tokens["admin"])
    assert (inherited.source_unit_id, [(l.category, l.daily_limit) for l in inherited.limits]) == (
        "b1",
        [("travel", "500.00")],
    )
    assert (
        await x.api.GetPolicy(pb.GetPolicyRequest(org_unit_id="t2"), metadata=x.tokens["admin"])
    ).source_unit_id == ""  # another branch: the defaults
    for unknown in (  # a unit that does not exist: 404, not the defaults of a made-up unit
        x.api.GetPolicy(pb.GetPolicyRequest(org_unit_id="no-such-unit"), metadata=x.tokens["admin"]),
        x.api.SetPolicy(pb.ExpensePolicy(org_unit_id="no-such-unit", currency="CNY"), metadata=x.tokens["admin"]),
    ):
        assert await failure(unknown) == (grpc.StatusCode.NOT_FOUND, ["org_unit_id"])
    # only administrators set policies, and bad limits are named
    assert (
        await failure(x.api.SetPolicy(pb.ExpensePolicy(org_unit_id="b1", currency="CNY"), metadata=x.tokens["mgr-1"]))
    )[0] is grpc.StatusCode.PERMISSION_DENIED
    assert await failure(
        x.api.SetPolicy(
            pb.ExpensePolicy(
                org_unit_id="b1", currency="CNY", limits=[pb.CategoryLimit(category="golf", daily_limit="-5")]
            ),
            metadata=x.tokens["admin"],
        )
    ) == (grpc.StatusCode.INVALID_ARGUMENT, ["limits[0].category"])

    first = await filed(x, "rep-1", line(amount="300.00"))
    assert first.status == "submitted"
    # the same day's travel in a second claim would pass the 500 limit: refused, naming the line
    code, fields = await failure(filed(x, "rep-1", line("communication", "20.00"), line(amount="250.00")))
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["lines[1].amount"])
    # two claims of the same day submitted at once: the limit holds for the pair
    pair = [
        await x.api.CreateClaim(
            pb.CreateClaimRequest(currency="CNY", lines=[line(amount="150.00")]), metadata=x.tokens["rep-1"]
        )
        for _ in range(2)
    ]
    for claim in pair:
        await x.api.AddReceipt(
            pb.AddReceiptRequest(
                claim_id=claim.id,
                line_no=1,
                file_name="t.pdf",
                content_type="application/pdf",
                content=PDF + claim.id.encode(),
            ),
            metadata=x.tokens["rep-1"],
        )
    outcomes = await asyncio.gather(
        *(x.api.SubmitClaim(pb.ClaimActionRequest(id=c.id), metadata=x.tokens["rep-1"]) for c in pair),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["AioRpcError", "ExpenseClaim"]  # 300 + 150 + 150 > 500
    refused = next(o for o in outcomes if isinstance(o, grpc.aio.AioRpcError))
    assert refused.code() is grpc.StatusCode.INVALID_ARGUMENT
    await x.api.RejectClaim(
        pb.ClaimDecisionRequest(
            id=next(o for o in outcomes if not isinstance(o, BaseException)).id, comment="duplicate"
        ),
        metadata=x.tokens["sup-1"],
    )

    # a rejected claim stops counting against the limit
    await x.api.RejectClaim(pb.ClaimDecisionRequest(id=first.id, comment="no receipt date"), metadata=x.tokens["sup-1"])
    second = await filed(x, "rep-1", line(amount="450.00"))
    assert second.status == "submitted"

    # above 1000 the director approves after the supervisor; the supervisor's own claim skips him
    big = await filed(x, "rep-1", line("other", "1500.00"))
    assert [(s.approver_id, s.role) for s in big.approval_steps] == [("sup-1", "supervisor"), ("dir-1", "director")]
    own = await filed(x, "sup-1", line("other", "80.00"))
    assert [s.approver_id for s in own.approval_steps] == ["mgr-1"]
    code, _ = await failure(x.api.ApproveClaim(pb.ClaimDecisionRequest(id=own.id), metadata=x.tokens["sup-1"]))
    assert code is grpc.StatusCode.FAILED_PRECONDITION
    # the flow is decided in turn, and a rejection needs a reason
    assert (await failure(x.api.ApproveClaim(pb.ClaimDecisionRequest(id=big.id), metadata=x.tokens["dir-1"])))[
        0
    ] is grpc.StatusCode.FAILED_PRECONDITION
    assert (await failure(x.api.RejectClaim(pb.ClaimDecisionRequest(id=big.id), metadata=x.tokens["sup-1"]))) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["comment"],
    )
    big = await x.api.ApproveClaim(pb.ClaimDecisionRequest(id=big.id), metadata=x.tokens["sup-1"])
    assert big.status == "submitted"
    big = await x.api.ApproveClaim(pb.ClaimDecisionRequest(id=big.id), metadata=x.tokens["dir-1"])
    assert big.status == "approved"

    # pages of the manager's subtree, newest first, each claim with its own lines and receipts
    first_page = await x.api.ListClaims(pb.ListClaimsRequest(page_size=2), metadata=x.tokens["mgr-1"])
    assert [c.id for c in first_page.claims] == [own.id, big.id]
    assert [(c.total, len(c.receipts), c.approval_steps[-1].status) for c in first_page.claims] == [
        ("80.00", 1, "pending"),
        ("1500.00", 1, "approved"),
    ]
    rest = await x.api.ListClaims(
        pb.ListClaimsRequest(page_size=10, cursor=first_page.next_cursor), metadata=x.tokens["mgr-1"]
    )
    assert [c.id for c in rest.claims] == [second.id, pair[1].id, pair[0].id] + [c.id for c in rest.claims[3:]]
    assert sorted(c.status for c in rest.claims) == ["draft", "draft", "rejected", "rejected", "submitted"]
    assert [
        c.id
        for c in (await x.api.ListClaims(pb.ListClaimsRequest(status="approved"), metadata=x.tokens["sup-1"])).claims
    ] == [big.id]

    # approvers who let a claim wait a day are reminded, once per day of waiting
    ctx = x.service.app.ctx  # type: ignore[attr-defined]
    scheduler = ExpensesUseCases(ctx.sessions, ctx.outbox, x.clock)
    assert await scheduler.send_reminders(timedelta(hours=24)) == 0
    x.clock.advance(timedelta(hours=25))
    assert await scheduler.send_reminders(timedelta(hours=24)) == 2
    assert await scheduler.send_reminders(timedelta(hours=24)) == 0
    reminders = [e for e in await envelopes(x) if e.type == "salesgrid.expenses.approval.step_reminded"]
    assert {e.actor_id for e in reminders} == {"system:expenses"}  # the scheduler acted, never a blank actor
    reminded = [ExpensesApprovalStep.FromString(e.payload) for e in reminders]
    assert sorted((r.claim_id, r.approver_id) for r in reminded) == sorted([(second.id, "sup-1"), (own.id, "mgr-1")])


async def test_bad_claims_leave_nothing_behind(expenses: Running) -> None:
    x = expenses
    code, fields = await failure(
        x.api.CreateClaim(
            pb.CreateClaimRequest(currency="CNY", lines=[line(), line("entertainment", "12.345"), line("golf")]),
            metadata=x.tokens["rep-1"],
        )
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert set(fields) == {"lines[1].amount", "lines[1].customer_id", "lines[2].category"}
    assert (
        await failure(
            x.api.CreateClaim(pb.CreateClaimRequest(currency="RMB", lines=[line()]), metadata=x.tokens["rep-1"])
        )
    ) == (grpc.StatusCode.INVALID_ARGUMENT, ["currency"])
    assert (
        await failure(
            x.api.CreateClaim(pb.CreateClaimRequest(currency="CNY", lines=[line()]), metadata=x.tokens["fin-1"])
        )
    )[0] is grpc.StatusCode.PERMISSION_DENIED
    assert not (await x.api.ListClaims(pb.ListClaimsRequest(), metadata=x.tokens["dir-1"])).claims
    assert await envelopes(x) == []


async def test_merged_customers_expense_lines_follow_the_survivor(expenses: Running, nats_url: str) -> None:
    """customers' `merged` event re-attaches the lines spent on the merged customer, once."""
    x = expenses
    claim = await x.api.CreateClaim(
        pb.CreateClaimRequest(
            currency="CNY", lines=[line(customer_id="cust-1"), line("entertainment", "80.00", customer_id="cust-2")]
        ),
        metadata=x.tokens["rep-1"],
    )

    async def customers() -> list[str]:
        read = await x.api.GetClaim(pb.GetClaimRequest(id=claim.id), metadata=x.tokens["rep-1"])
        return [item.customer_id for item in read.lines]

    await publish_customer_merge(nats_url, "cust-2", ["cust-1"])

    async def moved() -> bool:
        return await customers() == ["cust-2", "cust-2"]

    await eventually(moved)
    await publish_customer_merge(nats_url, "cust-2", ["cust-1"])

    async def applied_twice() -> bool:
        return await consumer_applied(x.service, "expenses-customer-merges") == 2  # type: ignore[arg-type]

    await eventually(applied_twice)
    assert await customers() == ["cust-2", "cust-2"]
