"""The quote store: rows of `quotes` (and their special-discount approval steps) <-> the domain's
Quote, a quote version with its snapshotted lines and pricing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common import approval
from salesgrid_common.errors import Conflict, NotFound
from salesgrid_pipeline.domain import quotes as rules
from salesgrid_pipeline.domain.discounts import DiscountApproval
from salesgrid_pipeline.models import Quote as Row
from salesgrid_pipeline.models import QuoteApprovalStep as StepRow

MAX_AWAITING = 200  # an approver's inbox page


def _line(line: dict[str, str]) -> rules.QuoteLine:
    discount = (
        rules.Discount(rules.DiscountKind(line["discount_kind"]), Decimal(line["discount_value"]))
        if line.get("discount_kind")
        else None
    )
    return rules.QuoteLine(
        line["product_id"], line["name"], Decimal(line["unit_price"]), Decimal(line["quantity"]), discount
    )


def from_row(row: Row) -> rules.Quote:
    lines = tuple(_line(line) for line in row.lines)
    return rules.Quote(
        quote_id=row.id,
        opportunity_id=row.opportunity_id,
        version=row.version,
        currency=row.currency,
        lines=lines,
        pricing=rules.price_quote(lines, row.currency),
        status=rules.QuoteStatus(row.status),
        created_at=row.created_at,
        created_by=row.created_by,
        accepted_at=row.accepted_at,
        accepted_by=row.accepted_by or None,
        owner_id=row.owner_id,
        org_path=row.org_path,
        contract_id=row.contract_id or "",
        discount_rate=Decimal(row.discount_rate or "0"),
        discount_approval=row.discount_approval or "",
        approval_started_at=row.approval_started_at,
    )


def lines_json(quote: rules.Quote) -> list[dict[str, str]]:
    """The lines as stored: each with its snapshot price, discount and pricing."""
    return [
        {
            "product_id": line.product_id,
            "name": line.name,
            "unit_price": str(line.unit_price),
            "quantity": str(line.quantity),
            "discount_kind": line.discount.kind.value if line.discount else "",
            "discount_value": str(line.discount.value) if line.discount else "",
            "gross": str(price.gross),
            "discount": str(price.discount),
            "net": str(price.net),
        }
        for line, price in zip(quote.lines, quote.pricing.lines, strict=True)
    ]


def to_row(quote: rules.Quote, row: Row) -> None:
    row.id = quote.quote_id
    row.opportunity_id = quote.opportunity_id
    row.owner_id = quote.owner_id
    row.org_path = quote.org_path
    row.version = quote.version
    row.currency = quote.currency
    row.lines = lines_json(quote)
    row.subtotal = str(quote.pricing.subtotal)
    row.discount_total = str(quote.pricing.discount_total)
    row.total = str(quote.pricing.total)
    row.status = quote.status.value
    row.created_at = quote.created_at
    row.created_by = quote.created_by
    row.accepted_at = quote.accepted_at
    row.accepted_by = quote.accepted_by or ""
    row.contract_id = quote.contract_id
    row.discount_rate = str(quote.discount_rate)
    row.discount_approval = quote.discount_approval
    row.approval_started_at = quote.approval_started_at


async def insert(session: AsyncSession, quote: rules.Quote) -> None:
    row = Row()
    to_row(quote, row)
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent new version took this number
        raise Conflict("another version of this quote was just issued; reload and retry", "opportunity_id") from None


async def save(session: AsyncSession, quote: rules.Quote) -> None:
    """A version's changed state (superseded, accepted, its discount's approval); the version number
    itself never changes, and callers hold the quote's lock or its opportunity's rules."""
    row = await session.get(Row, quote.quote_id)  # the identity map's row once loaded
    if row is None:
        raise NotFound(f"quote {quote.quote_id!r} does not exist", "id")
    to_row(quote, row)


async def load(session: AsyncSession, quote_id: str, *, lock: bool = False, field: str = "id") -> rules.Quote:
    stmt = select(Row).where(Row.id == quote_id)
    row = await session.scalar(stmt.with_for_update() if lock else stmt)
    if row is None:
        raise NotFound(f"quote {quote_id!r} does not exist", field)
    return from_row(row)


async def versions(session: AsyncSession, opportunity_id: str) -> list[rules.Quote]:
    """Every version of an opportunity's quote, oldest first, in one query."""
    stmt = select(Row).where(Row.opportunity_id == opportunity_id).order_by(Row.version)
    return [from_row(row) for row in (await session.scalars(stmt)).all()]


async def awaiting(session: AsyncSession, approver_id: str) -> list[rules.Quote]:
    """The current quotes whose special discount waits on this approver's decision."""
    mine = exists().where(
        StepRow.quote_id == Row.id,
        StepRow.approver_id == approver_id,
        StepRow.status == "pending",
        StepRow.activated_at.is_not(None),
    )
    stmt = (
        select(Row)
        .where(Row.status == "current", Row.discount_approval == DiscountApproval.PENDING.value, mine)
        .order_by(Row.approval_started_at, Row.id)
        .limit(MAX_AWAITING)
    )
    return [from_row(row) for row in await session.scalars(stmt)]


def step_of(row: StepRow) -> approval.ApprovalStep:
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


async def steps(session: AsyncSession, quote_id: str) -> list[approval.ApprovalStep]:
    """A quote's approval steps in order (held by the session: `save_steps` then writes them
    back without reading them again)."""
    stmt = select(StepRow).where(StepRow.quote_id == quote_id).order_by(StepRow.step_order)
    return [step_of(row) for row in await session.scalars(stmt)]


async def save_steps(
    session: AsyncSession, quote_id: str, flow: approval.ApprovalFlow
) -> tuple[list[approval.ApprovalStep], list[tuple[approval.ApprovalStep, str]]]:
    """The decided flow onto the quote's steps (as loaded by `steps` in this transaction): every
    step as now stored, and what happened to which step in step order ("approved" | "rejected"
    for the step decided, "activated" for the one whose turn began)."""
    stored: dict[int, StepRow] = {}
    for step in flow.steps:
        row = await session.get(StepRow, (quote_id, step.order))  # in the session since `steps`
        assert row is not None
        stored[step.order] = row
    happened = approval.store_steps(flow, stored)
    return [step_of(row) for row in stored.values()], [(step_of(row), verb) for row, verb in happened]


def add_steps(session: AsyncSession, quote_id: str, steps: Sequence[approval.ApprovalStep]) -> None:
    """Store the steps of an approval just started."""
    session.add_all(new_step_rows(quote_id, steps))


def new_step_rows(quote_id: str, steps: Sequence[approval.ApprovalStep]) -> list[StepRow]:
    return [
        StepRow(
            quote_id=quote_id,
            step_order=s.order,
            role=s.role,
            approver_id=s.approver_id,
            status=s.status.value,
            activated_at=s.activated_at,
        )
        for s in steps
    ]


async def steps_of(session: AsyncSession, quote_ids: Sequence[str]) -> dict[str, list[approval.ApprovalStep]]:
    """The approval steps of a page of quotes, in one query."""
    if not quote_ids:
        return {}
    stmt = select(StepRow).where(StepRow.quote_id.in_(quote_ids)).order_by(StepRow.quote_id, StepRow.step_order)
    found: dict[str, list[approval.ApprovalStep]] = {}
    for step in await session.scalars(stmt):
        found.setdefault(step.quote_id, []).append(step_of(step))
    return found


async def due_reminders(
    session: AsyncSession, now: datetime, timeout: timedelta
) -> list[tuple[approval.ApprovalStep, rules.Quote]]:
    """The pending, active steps of current quotes awaiting approval whose approver is due a
    reminder (approval.stored_reminder_due), marked as reminded now, with their quotes; the steps
    are locked (rows another replica holds are skipped)."""
    stmt = (
        select(StepRow, Row)
        .join(Row, Row.id == StepRow.quote_id)
        .where(
            StepRow.status == "pending",
            StepRow.activated_at.is_not(None),
            Row.status == "current",
            Row.discount_approval == DiscountApproval.PENDING.value,
        )
        .with_for_update(of=StepRow, skip_locked=True)
    )
    due = []
    for step, row in (await session.execute(stmt)).all():
        if approval.stored_reminder_due(step, now, timeout):
            step.reminded_at = now
            due.append((step_of(step), from_row(row)))
    return due
