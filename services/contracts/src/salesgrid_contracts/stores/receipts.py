"""The receipt store: a `receipts` row and its `receipt_allocations` <-> the domain's ReceiptRecord
(the receipt, whose scope it is read in, how it was applied); a contract's receipts for settling,
pages of receipts with their allocations in one query (not one per receipt), how a settlement
applied them, and the receipt a print is made of."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.paging import Page
from salesgrid_contracts import models
from salesgrid_contracts.domain import payments
from salesgrid_contracts.domain.contract_records import ContractRecord
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.domain.payment_records import ReceiptAllocation, ReceiptRecord
from salesgrid_contracts.domain.settlement import Settlement
from salesgrid_contracts.stores.payment_pages import page_in_scope

Row = models.ReceiptRow
AllocationRow = models.ReceiptAllocationRow


def receipt_of(row: Row) -> payments.Receipt:
    return payments.Receipt(
        row.id, row.received_on, Money(row.amount, row.currency), payments.PaymentMethod(row.method), row.reference
    )


def record_of(row: Row, allocations: Sequence[AllocationRow] = ()) -> ReceiptRecord:
    return ReceiptRecord(
        receipt=receipt_of(row),
        contract_id=row.contract_id,
        owner_id=row.owner_id,
        org_path=row.org_path,
        recorded_by=row.recorded_by,
        created_at=row.created_at,
        allocations=tuple(
            ReceiptAllocation(a.instalment_seq, Money(a.amount, row.currency))
            for a in sorted(allocations, key=lambda a: a.instalment_seq)
        ),
    )


def new_row(receipt: payments.Receipt, contract: ContractRecord, recorded_by: str, now: datetime) -> Row:
    return Row(
        id=receipt.receipt_id,
        contract_id=contract.contract_id,
        owner_id=contract.owner_id,
        org_path=contract.org_path,
        received_on=receipt.received_on,
        amount=receipt.amount.amount,
        currency=receipt.amount.currency,
        method=receipt.method.value,
        reference=receipt.reference,
        recorded_by=recorded_by,
        version=1,
        created_at=now,
    )


def add(
    session: AsyncSession, receipt: payments.Receipt, contract: ContractRecord, recorded_by: str, now: datetime
) -> None:
    """A new receipt of the contract, added to the session."""
    session.add(new_row(receipt, contract, recorded_by, now))


async def of_contract(session: AsyncSession, contract_id: str) -> list[payments.Receipt]:
    """Every receipt of the contract (for settling)."""
    return [receipt_of(row) for row in await session.scalars(select(Row).where(Row.contract_id == contract_id))]


async def allocations(session: AsyncSession, receipt_ids: Sequence[str]) -> dict[str, list[AllocationRow]]:
    """How each of these receipts was applied, in one query."""
    found: dict[str, list[AllocationRow]] = {receipt_id: [] for receipt_id in receipt_ids}
    if not found:
        return found
    for allocation in await session.scalars(select(AllocationRow).where(AllocationRow.receipt_id.in_(list(found)))):
        found[allocation.receipt_id].append(allocation)
    return found


async def records(session: AsyncSession, rows: Sequence[Row]) -> list[ReceiptRecord]:
    """Receipts with their allocations: two queries whatever their number."""
    shares = await allocations(session, [row.id for row in rows])
    return [record_of(row, shares[row.id]) for row in rows]


async def load(session: AsyncSession, receipt_id: str, *, lock: bool = False) -> ReceiptRecord | None:
    """The receipt with its allocations (`lock`: its row, until the transaction ends); None if unknown."""
    query = select(Row).where(Row.id == receipt_id)
    row = await session.scalar(query.with_for_update() if lock else query)
    return None if row is None else (await records(session, [row]))[0]


async def page(
    session: AsyncSession, principal: Principal, contract_id: str, page_size: int, cursor: str
) -> Page[ReceiptRecord]:
    """Receipts in the caller's payments scope (of one contract, when given), with their allocations."""
    found = await page_in_scope(session, principal, Row, contract_id, page_size, cursor)
    return Page(await records(session, found.items), found.next_token)


async def store_allocations(session: AsyncSession, receipt_ids: Sequence[str], settlement: Settlement) -> None:
    """How the settlement applied each of these receipts, in place of what was stored (refunds'
    shares are not stored: they take money back from credit and instalments)."""
    if receipt_ids:
        await session.execute(delete(AllocationRow).where(AllocationRow.receipt_id.in_(list(receipt_ids))))
    shares: dict[tuple[str, int], Decimal] = {}
    known = set(receipt_ids)
    for allocation in (a for a in settlement.allocations if a.source_id in known):
        key = (allocation.source_id, allocation.instalment_seq or 0)
        shares[key] = shares.get(key, Decimal(0)) + allocation.amount.amount
    for (receipt_id, seq), amount in shares.items():
        session.add(AllocationRow(receipt_id=receipt_id, instalment_seq=seq, amount=amount))
