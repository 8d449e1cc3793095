"""The payloads of the expense claim's events, built from the domain ExpenseClaim (and its
receipts and approval steps) in this one place."""

from __future__ import annotations

from salesgrid.events.v1.expenses_events_pb2 import (
    ExpensesApprovalStep,
    ExpensesClaimState,
    ExpensesLineState,
    ExpensesReceiptAttached,
)
from salesgrid_common.approval import ApprovalStep
from salesgrid_expenses.domain.claims import ExpenseClaim
from salesgrid_expenses.domain.receipts import Receipt


def claim_state(claim: ExpenseClaim, comment: str = "") -> ExpensesClaimState:
    return ExpensesClaimState(
        claim_id=claim.id,
        owner_id=claim.owner_id,
        org_path=claim.org_path,
        currency=claim.currency,
        total=str(claim.total),
        status=claim.status.value,
        comment=comment,
        version=claim.version,
        paid_on=claim.paid_on.isoformat() if claim.paid_on else "",
        lines=[
            ExpensesLineState(
                line_no=line.line_no,
                category=line.category.value,
                spent_on=line.spent_on.isoformat(),
                amount=str(line.amount),
                visit_id=line.visit_id,
                customer_id=line.customer_id,
                opportunity_id=line.opportunity_id,
            )
            for line in claim.lines
        ],
    )


def approval_step(claim: ExpenseClaim, step: ApprovalStep) -> ExpensesApprovalStep:
    """A step of the claim's approval (activated, decided or reminded)."""
    return ExpensesApprovalStep(
        claim_id=claim.id,
        step_order=step.order,
        role=step.role,
        approver_id=step.approver_id,
        status=step.status.value,
        comment=step.comment or "",
        owner_id=claim.owner_id,
        total=str(claim.total),
        currency=claim.currency,
    )


def receipt_attached(claim: ExpenseClaim, receipt: Receipt) -> ExpensesReceiptAttached:
    return ExpensesReceiptAttached(
        claim_id=claim.id,
        receipt_id=receipt.id,
        line_no=receipt.line_no,
        content_type=receipt.content_type,
        size_bytes=receipt.size_bytes,
        sha256=receipt.sha256,
    )
