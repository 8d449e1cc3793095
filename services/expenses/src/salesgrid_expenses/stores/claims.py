"""The expense-claim store: the one mapping between the claim's rows (claim, lines, receipts'
metadata) and the domain ExpenseClaim and Receipt; loading with a lock, scoped pages, batched
views, inserts, versioned saves and the sums daily limits count. Its approval steps:
stores/approval_steps.py."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from salesgrid_common import approval
from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.errors import Conflict
from salesgrid_common.paging import Page, keyset_page
from salesgrid_expenses import models
from salesgrid_expenses.domain.claims import COUNTED, Category, ClaimStatus, ExpenseClaim, ExpenseLine
from salesgrid_expenses.domain.receipts import Receipt
from salesgrid_expenses.stores.approval_steps import Row as StepRow
from salesgrid_expenses.stores.approval_steps import step_from_row

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


async def load_claim(session: AsyncSession, claim_id: str, *, lock: bool = False) -> ExpenseClaim | None:
    """The claim without its lines (claim_view reads them with its receipts and steps), locked
    for the transaction when asked (writers serialise on it)."""
    query = select(models.Claim).where(models.Claim.id == claim_id)
    row = await session.scalar(query.with_for_update() if lock else query)
    return None if row is None else claim_from_row(row)


async def claims_page(
    session: AsyncSession,
    principal: Principal,
    permission: str,
    *,
    status: ClaimStatus | None,
    owner_id: str,
    page_size: int,
    cursor: str,
) -> Page[ClaimView]:
    """A page of the claims `permission` lets `principal` see, with their views."""
    query = select(models.Claim).where(
        scope_filter(principal, permission, models.Claim.owner_id, models.Claim.org_path)
    )
    if status is not None:
        query = query.where(models.Claim.status == status.value)
    if owner_id:
        query = query.where(models.Claim.owner_id == owner_id)
    page = await keyset_page(session, query, models.Claim.id, page_size, cursor)
    return Page(await claim_views(session, [claim_from_row(row) for row in page.items]), page.next_token)


async def claim_views(session: AsyncSession, claims: Sequence[ExpenseClaim]) -> list[ClaimView]:
    """Claims with their lines, receipts (metadata only: the file stays in the database until
    downloaded) and approval steps, in three queries whatever the number of claims."""
    ids = [claim.id for claim in claims]
    lines: dict[str, list[ExpenseLine]] = defaultdict(list)
    receipts: dict[str, list[Receipt]] = defaultdict(list)
    steps: dict[str, list[approval.ApprovalStep]] = defaultdict(list)
    for line in await session.scalars(
        select(models.ClaimLine).where(models.ClaimLine.claim_id.in_(ids)).order_by(models.ClaimLine.line_no)
    ):
        lines[line.claim_id].append(line_from_row(line))
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
        ClaimView(replace(claim, lines=tuple(lines[claim.id])), tuple(receipts[claim.id]), tuple(steps[claim.id]))
        for claim in claims
    ]


async def claim_view(session: AsyncSession, claim: ExpenseClaim) -> ClaimView:
    return (await claim_views(session, [claim]))[0]


async def lock_owners_claims(session: AsyncSession, owner_id: str) -> None:
    """Lock every claim of the owner, in id order (two of his submissions serialise, and
    cannot deadlock)."""
    await session.execute(
        select(models.Claim.id).where(models.Claim.owner_id == owner_id).order_by(models.Claim.id).with_for_update()
    )


async def already_claimed(
    session: AsyncSession, owner_id: str, days: set[date], exclude_claim: str
) -> dict[tuple[date, Category], Decimal]:
    """What the owner claimed per (day, category) in his counted claims but `exclude_claim`."""
    rows = await session.execute(
        select(models.ClaimLine.spent_on, models.ClaimLine.category, models.ClaimLine.amount)
        .join(models.Claim, models.Claim.id == models.ClaimLine.claim_id)
        .where(
            models.ClaimLine.owner_id == owner_id,
            models.ClaimLine.spent_on.in_(days),
            models.Claim.id != exclude_claim,
            models.Claim.status.in_([s.value for s in COUNTED]),
        )
    )
    sums: dict[tuple[date, Category], Decimal] = defaultdict(Decimal)
    for spent_on, category, amount in rows:  # summed in Decimal: amounts are exact text
        sums[(spent_on, Category(category))] += amount
    return sums


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


async def reminders_due(
    session: AsyncSession, now: datetime, timeout: timedelta
) -> list[tuple[ExpenseClaim, approval.ApprovalStep]]:
    """The current steps of submitted claims whose approver has waited `timeout` since his turn
    began or his last reminder, each with its claim (without lines), marked reminded at `now`
    (the mark is written with the reminder's event). Steps another replica holds are skipped."""
    pending = (
        select(StepRow, models.Claim)
        .join(models.Claim, models.Claim.id == StepRow.claim_id)
        .where(
            StepRow.status == approval.StepStatus.PENDING.value,
            StepRow.activated_at.is_not(None),
            models.Claim.status == ClaimStatus.SUBMITTED.value,
        )
        .with_for_update(of=StepRow, skip_locked=True)
    )
    due = []
    for step, claim in (await session.execute(pending)).all():
        if approval.stored_reminder_due(step, now, timeout):
            step.reminded_at = now
            due.append((claim_from_row(claim), step_from_row(step)))
    return due
