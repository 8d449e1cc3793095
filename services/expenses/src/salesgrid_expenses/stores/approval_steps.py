"""The expense claim's approval steps: the one mapping between an `expense_approval_steps` row
and the shared domain ApprovalStep (`step_from_row` / `step_to_row`), inserts, the rows a decided
flow is written onto and who approves a claim (the reminders due: stores/claims.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common import approval
from salesgrid_expenses import models
from salesgrid_expenses.domain.claims import ExpenseClaim

Row = models.ApprovalStepRow


def step_from_row(row: Row) -> approval.ApprovalStep:
    return approval.ApprovalStep(
        order=row.step_order,
        role=row.role,
        approver_id=row.approver_id,
        status=approval.StepStatus(row.status),
        activated_at=row.activated_at,
        decided_at=row.decided_at,
        comment=row.comment,
        reminded_at=row.reminded_at,
    )


def step_to_row(claim_id: str, step: approval.ApprovalStep) -> dict[str, Any]:
    return {
        "claim_id": claim_id,
        "step_order": step.order,
        "role": step.role,
        "approver_id": step.approver_id,
        "status": step.status.value,
        "activated_at": step.activated_at,
        "decided_at": step.decided_at,
        "reminded_at": step.reminded_at,
        "comment": step.comment,
    }


def insert_steps(session: AsyncSession, claim: ExpenseClaim, steps: Sequence[approval.ApprovalStep]) -> None:
    session.add_all(Row(**step_to_row(claim.id, s)) for s in steps)


async def step_rows(session: AsyncSession, claim_id: str) -> dict[int, Row]:
    """The claim's step records by order, for approval.store_steps to write a decided flow onto."""
    rows = await session.scalars(select(Row).where(Row.claim_id == claim_id))
    return {row.step_order: row for row in rows}


async def is_approver(session: AsyncSession, claim_id: str, user_id: str) -> bool:
    """Whether the user holds a step of the claim's approval."""
    found = await session.scalar(select(Row.step_order).where(Row.claim_id == claim_id, Row.approver_id == user_id))
    return found is not None
