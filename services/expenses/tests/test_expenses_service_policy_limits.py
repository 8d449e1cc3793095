"""Expense policies through gRPC: daily limits inherited from the unit's policy, the director's
threshold on the approval chain, and no approval of one's own claim."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import grpc
from salesgrid.events.v1.expenses_events_pb2 import ExpensesApprovalStep
from salesgrid.expenses.v1 import expenses_pb2 as pb
from salesgrid_expenses.usecases import ExpensesUseCases

from expenses_fixtures import PDF, Running, envelopes, failure, filed, line
from expenses_fixtures import expenses  # noqa: F401 - fixtures


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
