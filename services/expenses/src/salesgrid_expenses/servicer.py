"""Thin gRPC servicer: proto ↔ use case translation, nothing else."""

from __future__ import annotations

import grpc

from salesgrid.expenses.v1 import expenses_pb2 as pb
from salesgrid.expenses.v1 import expenses_pb2_grpc as pb_grpc
from salesgrid_common.auth.principal import caller
from salesgrid_common.protos import to_timestamp
from salesgrid_expenses.domain.policy import ExpensePolicy
from salesgrid_expenses.domain.receipts import Receipt
from salesgrid_expenses.usecases import ClaimView
from salesgrid_expenses.usecases import ExpensesUseCases

Context = grpc.aio.ServicerContext
LINE_FIELDS = ("category", "spent_on", "amount", "description", "visit_id", "customer_id", "opportunity_id")


def receipt_pb(receipt: Receipt) -> pb.ExpenseReceipt:
    return pb.ExpenseReceipt(
        id=receipt.id,
        line_no=receipt.line_no,
        file_name=receipt.file_name,
        content_type=receipt.content_type,
        size_bytes=receipt.size_bytes,
        sha256=receipt.sha256,
    )


def claim_pb(view: ClaimView) -> pb.ExpenseClaim:
    claim = view.claim
    return pb.ExpenseClaim(
        id=claim.id,
        owner_id=claim.owner_id,
        org_path=claim.org_path,
        title=claim.title,
        currency=claim.currency,
        total=str(claim.total),
        status=claim.status.value,
        version=claim.version,
        created_at=to_timestamp(claim.created_at),
        submitted_at=to_timestamp(claim.submitted_at),
        payment_reference=claim.payment_reference or "",
        paid_on=claim.paid_on.isoformat() if claim.paid_on else "",
        lines=[
            pb.ExpenseLine(
                line_no=line.line_no,
                category=line.category.value,
                spent_on=line.spent_on.isoformat(),
                amount=str(line.amount),
                description=line.description,
                visit_id=line.visit_id,
                customer_id=line.customer_id,
                opportunity_id=line.opportunity_id,
            )
            for line in claim.lines
        ],
        receipts=[receipt_pb(r) for r in view.receipts],
        approval_steps=[
            pb.ExpenseApprovalStep(
                order=s.order,
                role=s.role,
                approver_id=s.approver_id,
                status=s.status.value,
                comment=s.comment or "",
                decided_at=to_timestamp(s.decided_at),
            )
            for s in view.steps
        ],
    )


def policy_pb(policy: ExpensePolicy, org_unit_id: str) -> pb.ExpensePolicy:
    return pb.ExpensePolicy(
        org_unit_id=org_unit_id,
        currency=policy.currency,
        source_unit_id=policy.org_unit_id,
        director_above="" if policy.director_above is None else str(policy.director_above),
        limits=[pb.CategoryLimit(category=k.value, daily_limit=str(v)) for k, v in sorted(policy.daily_limits.items())],
    )


class ExpensesServicer(pb_grpc.ExpensesServicer):
    def __init__(self, usecases: ExpensesUseCases) -> None:
        self.uc = usecases

    async def CreateClaim(self, request: pb.CreateClaimRequest, context: Context) -> pb.ExpenseClaim:
        lines = [{name: getattr(line, name) for name in LINE_FIELDS} for line in request.lines]
        return claim_pb(await self.uc.create_claim(caller(), request.title, request.currency, lines))

    async def GetClaim(self, request: pb.GetClaimRequest, context: Context) -> pb.ExpenseClaim:
        return claim_pb(await self.uc.get_claim(caller(), request.id))

    async def ListClaims(self, request: pb.ListClaimsRequest, context: Context) -> pb.ListClaimsResponse:
        page = await self.uc.list_claims(
            caller(), request.status.strip(), request.owner_id.strip(), request.page_size, request.cursor
        )
        return pb.ListClaimsResponse(claims=[claim_pb(v) for v in page.items], next_cursor=page.next_token)

    async def AddReceipt(self, request: pb.AddReceiptRequest, context: Context) -> pb.ExpenseClaim:
        return claim_pb(
            await self.uc.add_receipt(
                caller(),
                request.claim_id,
                request.line_no,
                request.file_name,
                request.content_type,
                request.content,
                request.expected_version,
            )
        )

    async def GetReceipt(self, request: pb.GetReceiptRequest, context: Context) -> pb.ReceiptContent:
        receipt, content = await self.uc.get_receipt(caller(), request.claim_id, request.receipt_id)
        return pb.ReceiptContent(receipt=receipt_pb(receipt), content=content)

    async def SubmitClaim(self, request: pb.ClaimActionRequest, context: Context) -> pb.ExpenseClaim:
        return claim_pb(await self.uc.submit(caller(), request.id, request.expected_version))

    async def ApproveClaim(self, request: pb.ClaimDecisionRequest, context: Context) -> pb.ExpenseClaim:
        return claim_pb(
            await self.uc.decide(
                caller(), request.id, approve=True, comment=request.comment, expected_version=request.expected_version
            )
        )

    async def RejectClaim(self, request: pb.ClaimDecisionRequest, context: Context) -> pb.ExpenseClaim:
        return claim_pb(
            await self.uc.decide(
                caller(), request.id, approve=False, comment=request.comment, expected_version=request.expected_version
            )
        )

    async def PayClaim(self, request: pb.PayClaimRequest, context: Context) -> pb.ExpenseClaim:
        return claim_pb(
            await self.uc.pay(
                caller(), request.id, request.paid_on, request.payment_reference, request.expected_version
            )
        )

    async def SetPolicy(self, request: pb.ExpensePolicy, context: Context) -> pb.ExpensePolicy:
        policy = await self.uc.set_policy(
            caller(),
            request.org_unit_id,
            request.currency,
            [(limit.category, limit.daily_limit) for limit in request.limits],
            request.director_above,
        )
        return policy_pb(policy, request.org_unit_id)

    async def GetPolicy(self, request: pb.GetPolicyRequest, context: Context) -> pb.ExpensePolicy:
        return policy_pb(await self.uc.get_policy(caller(), request.org_unit_id), request.org_unit_id)
