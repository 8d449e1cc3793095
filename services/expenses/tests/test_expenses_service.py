"""The expenses service end to end through gRPC on SQLite and PostgreSQL: a claim from draft to paid,
with receipts, scope and the outbox events. (Policy limits, bad input and customer merges have
their own test_expenses_service_*.py modules; the shared set-up is in expenses_fixtures.py.)"""

from __future__ import annotations

import grpc
from salesgrid.events.v1.expenses_events_pb2 import ExpensesClaimState
from salesgrid.expenses.v1 import expenses_pb2 as pb

from expenses_fixtures import PDF, PNG, Running, TEAM, envelopes, failure, line
from expenses_fixtures import expenses  # noqa: F401 - fixtures


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
