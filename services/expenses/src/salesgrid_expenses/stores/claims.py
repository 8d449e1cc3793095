"""The expense-claim store: the one mapping between the claim's rows (claim, lines, receipts'
metadata, approval steps) and the domain ExpenseClaim, Receipt and ApprovalStep; loading with
a lock, batched views, inserts and versioned saves."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from salesgrid_common import approval
from salesgrid_common.errors import Conflict
from salesgrid_expenses import models
from salesgrid_expenses.domain.claims import Category, ClaimStatus, ExpenseClaim, ExpenseLine
from salesgrid_expenses.domain.receipts import Receipt

CLAIM_COLUMNS = tuple(models.Claim.__table__.columns.keys())


@dataclass(frozen=True)
class ClaimView:
    """A claim with its receipts' metadata and its approval steps: what the API shows."""

    claim: ExpenseClaim
    receipts: tuple[Receipt, ...]
    steps: tuple[approval.ApprovalStep, ...]


def claim_from_row(row: models.Claim, lines: Sequence[models.ClaimLine] = ()) -> ExpenseClaim:
    return ExpenseClaim(
        id=row.id,
        owner_id=row.owner_id,
        org_unit_id=row.org_unit_id,
        org_path=row.org_path,
        title=row.title,
        currency=row.currency,
        total=row.total,
        status=ClaimStatus(row.status),
        created_at=row.created_at,
        lines=tuple(line_from_row(line) for line in lines),
        submitted_at=row.submitted_at,
        approval_started_at=row.approval_started_at,
        decided_at=row.decided_at,
        paid_on=row.paid_on,
        payment_reference=row.payment_reference,
        version=row.version,
    )


def claim_to_row(claim: ExpenseClaim) -> dict[str, Any]:
    """The claim's own row (its lines are rows of their own: line_to_row)."""
    return {
        "id": claim.id,
        "owner_id": claim.owner_id,
        "org_unit_id": claim.org_unit_id,
        "org_path": claim.org_path,
        "title": claim.title,
        "currency": claim.currency,
        "total": claim.total,
        "status": claim.status.value,
        "approval_started_at": claim.approval_started_at,
        "decided_at": claim.decided_at,
        "paid_on": claim.paid_on,
        "payment_reference": claim.payment_reference,
        "version": claim.version,
        "created_at": claim.created_at,
        "submitted_at": claim.submitted_at,
    }


def line_from_row(row: models.ClaimLine) -> ExpenseLine:
    return ExpenseLine(
        row.line_no,
        Category(row.category),
        row.spent_on,
        row.amount,
        row.description,
        row.visit_id,
        row.customer_id,
        row.opportunity_id,
    )


def line_to_row(claim: ExpenseClaim, line: ExpenseLine) -> dict[str, Any]:
    return {
        "claim_id": claim.id,
        "line_no": line.line_no,
        "owner_id": claim.owner_id,  # daily limits sum a person's lines without the claims
        "category": line.category.value,
        "spent_on": line.spent_on,
        "amount": line.amount,
        "description": line.description,
        "visit_id": line.visit_id,
        "customer_id": line.customer_id,
        "opportunity_id": line.opportunity_id,
    }


def receipt_from_row(row: models.ReceiptRow) -> Receipt:
    return Receipt(
        row.line_no, row.file_name, row.content_type, row.size_bytes, row.sha256, id=row.id, created_at=row.created_at
    )


def step_from_row(row: models.ApprovalStepRow) -> approval.ApprovalStep:
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


async def claim_row(session: AsyncSession, claim_id: str, *, lock: bool = False) -> models.Claim | None:
    """The claim's row, locked for the transaction when asked (writers serialise on it)."""
    query = select(models.Claim).where(models.Claim.id == claim_id)
    return await session.scalar(query.with_for_update() if lock else query)


async def claim_views(session: AsyncSession, rows: Sequence[models.Claim]) -> list[ClaimView]:
    """Claims with their lines, receipts (metadata only: the file stays in the database until
    downloaded) and approval steps, in three queries whatever the number of claims."""
    ids = [row.id for row in rows]
    lines: dict[str, list[models.ClaimLine]] = defaultdict(list)
    receipts: dict[str, list[Receipt]] = defaultdict(list)
    steps: dict[str, list[approval.ApprovalStep]] = defaultdict(list)
    for line in await session.scalars(
        select(models.ClaimLine).where(models.ClaimLine.claim_id.in_(ids)).order_by(models.ClaimLine.line_no)
    ):
        lines[line.claim_id].append(line)
    for receipt in await session.scalars(
        select(models.ReceiptRow)
        .options(defer(models.ReceiptRow.content))
        .where(models.ReceiptRow.claim_id.in_(ids))
        .order_by(models.ReceiptRow.id)
    ):
        receipts[receipt.claim_id].append(receipt_from_row(receipt))
    for step in await session.scalars(
        select(models.ApprovalStepRow)
        .where(models.ApprovalStepRow.claim_id.in_(ids))
        .order_by(models.ApprovalStepRow.step_order)
    ):
        steps[step.claim_id].append(step_from_row(step))
    return [
        ClaimView(claim_from_row(row, lines[row.id]), tuple(receipts[row.id]), tuple(steps[row.id])) for row in rows
    ]


async def claim_view(session: AsyncSession, row: models.Claim) -> ClaimView:
    return (await claim_views(session, [row]))[0]


async def insert_claim(session: AsyncSession, claim: ExpenseClaim) -> None:
    session.add(models.Claim(**claim_to_row(claim)))
    await session.flush()
    session.add_all(models.ClaimLine(**line_to_row(claim, line)) for line in claim.lines)
    await session.flush()


async def save_claim(session: AsyncSession, before: ExpenseClaim, after: ExpenseClaim) -> ExpenseClaim:
    """Store `after` (its lines stay as they are) if the row is still at `before`'s version; the
    stored claim, one version on."""
    old, new = claim_to_row(before), claim_to_row(after)
    changed = {name: value for name, value in new.items() if value != old[name] and name != "version"}
    result = await session.execute(
        update(models.Claim)
        .where(models.Claim.id == before.id, models.Claim.version == before.version)
        .values(**changed, version=models.Claim.version + 1)
    )
    if result.rowcount != 1:
        raise Conflict(f"expense claim {before.id} was modified concurrently", "version")
    return replace(after, version=before.version + 1)


async def insert_receipt(session: AsyncSession, claim: ExpenseClaim, receipt: Receipt, content: bytes) -> None:
    session.add(
        models.ReceiptRow(
            id=receipt.id,
            claim_id=claim.id,
            line_no=receipt.line_no,
            file_name=receipt.file_name,
            content_type=receipt.content_type,
            size_bytes=receipt.size_bytes,
            sha256=receipt.sha256,
            content=content,
            created_at=receipt.created_at,
        )
    )


async def receipt_with_content(session: AsyncSession, claim_id: str, receipt_id: str) -> tuple[Receipt, bytes] | None:
    row = await session.get(models.ReceiptRow, receipt_id)
    if row is None or row.claim_id != claim_id:
        return None
    return receipt_from_row(row), row.content


def insert_steps(session: AsyncSession, claim: ExpenseClaim, steps: Sequence[approval.ApprovalStep]) -> None:
    session.add_all(
        models.ApprovalStepRow(
            claim_id=claim.id,
            step_order=s.order,
            role=s.role,
            approver_id=s.approver_id,
            status=s.status.value,
            activated_at=s.activated_at,
        )
        for s in steps
    )


async def step_rows(session: AsyncSession, claim_id: str) -> dict[int, models.ApprovalStepRow]:
    """The claim's step records by order, for approval.store_steps to write a decided flow onto."""
    rows = await session.scalars(select(models.ApprovalStepRow).where(models.ApprovalStepRow.claim_id == claim_id))
    return {row.step_order: row for row in rows}
