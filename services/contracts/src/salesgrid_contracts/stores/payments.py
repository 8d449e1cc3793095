"""The payments store: a contract's instalments, receipts (with how each was allocated), refunds
and invoices <-> the domain's payment records; pages of receipts load their allocations in one
query, not one per receipt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth import Principal, scope_filter
from salesgrid_common.errors import NotFound
from salesgrid_common.paging import Page, keyset_page
from salesgrid_contracts import models
from salesgrid_contracts.domain import payments, receivables
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.domain.settlement import Settlement


@dataclass(frozen=True)
class ReceiptView:
    row: models.ReceiptRow
    allocations: list[models.ReceiptAllocationRow]


@dataclass(frozen=True)
class PlanView:
    contract: models.Contract
    instalments: list[models.InstalmentRow]


def instalment_of(row: models.InstalmentRow, currency: str) -> payments.Instalment:
    return payments.Instalment(row.seq, row.due_date, Money(row.amount, currency))


def receipt_of(row: models.ReceiptRow) -> payments.Receipt:
    return payments.Receipt(
        row.id, row.received_on, Money(row.amount, row.currency), payments.PaymentMethod(row.method), row.reference
    )


def refund_of(row: models.RefundRow) -> payments.Refund:
    return payments.Refund(row.id, row.refunded_on, Money(row.amount, row.currency), row.reason)


def invoice_of(row: models.InvoiceRow) -> payments.Invoice:
    return payments.Invoice(
        row.number, Money(row.amount, row.currency), row.issued_on, payments.InvoiceStatus(row.status)
    )


async def instalments(session: AsyncSession, contract_id: str) -> list[models.InstalmentRow]:
    """The contract's plan as stored, by sequence (paid amounts are updated in place on resettling)."""
    stmt = select(models.InstalmentRow).where(models.InstalmentRow.contract_id == contract_id)
    return list(await session.scalars(stmt.order_by(models.InstalmentRow.seq)))


async def outstanding(session: AsyncSession, contract_id: str) -> Decimal:
    """What the contract's instalments still owe."""
    return sum((i.amount - i.paid for i in await instalments(session, contract_id)), Decimal(0))


def new_instalment_rows(contract_id: str, plan: Sequence[payments.Instalment]) -> list[models.InstalmentRow]:
    return [
        models.InstalmentRow(
            contract_id=contract_id, seq=item.seq, due_date=item.due_date, amount=item.amount.amount, paid=Decimal(0)
        )
        for item in plan
    ]


async def receipt_rows(session: AsyncSession, contract_id: str) -> list[models.ReceiptRow]:
    stmt = select(models.ReceiptRow).where(models.ReceiptRow.contract_id == contract_id)
    return list(await session.scalars(stmt))


async def refunds(session: AsyncSession, contract_id: str) -> list[payments.Refund]:
    stmt = select(models.RefundRow).where(models.RefundRow.contract_id == contract_id)
    return [refund_of(row) for row in await session.scalars(stmt)]


async def invoices(session: AsyncSession, contract_id: str) -> list[payments.Invoice]:
    stmt = select(models.InvoiceRow).where(models.InvoiceRow.contract_id == contract_id)
    return [invoice_of(row) for row in await session.scalars(stmt)]


async def invoice_number_taken(session: AsyncSession, number: str) -> bool:
    return bool(await session.scalar(select(models.InvoiceRow.id).where(models.InvoiceRow.number == number)))


def new_receipt_row(
    receipt: payments.Receipt, contract: models.Contract, recorded_by: str, now: datetime
) -> models.ReceiptRow:
    return models.ReceiptRow(
        id=receipt.receipt_id,
        contract_id=contract.id,
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


def new_refund_row(
    refund: payments.Refund, contract: models.Contract, recorded_by: str, now: datetime
) -> models.RefundRow:
    return models.RefundRow(
        id=refund.refund_id,
        contract_id=contract.id,
        owner_id=contract.owner_id,
        org_path=contract.org_path,
        refunded_on=refund.refunded_on,
        amount=refund.amount.amount,
        currency=refund.amount.currency,
        reason=refund.reason,
        recorded_by=recorded_by,
        created_at=now,
    )


def new_invoice_row(
    invoice_id: str, invoice: payments.Invoice, contract: models.Contract, recorded_by: str, now: datetime
) -> models.InvoiceRow:
    return models.InvoiceRow(
        id=invoice_id,
        contract_id=contract.id,
        owner_id=contract.owner_id,
        org_path=contract.org_path,
        number=invoice.number,
        amount=invoice.amount.amount,
        currency=invoice.amount.currency,
        issued_on=invoice.issued_on,
        status=invoice.status.value,
        recorded_by=recorded_by,
        created_at=now,
    )


def add_receipt(
    session: AsyncSession, receipt: payments.Receipt, contract: models.Contract, recorded_by: str, now: datetime
) -> models.ReceiptRow:
    """A new receipt's row, added to the session."""
    stored = new_receipt_row(receipt, contract, recorded_by, now)
    session.add(stored)
    return stored


def add_refund(
    session: AsyncSession, refund: payments.Refund, contract: models.Contract, recorded_by: str, now: datetime
) -> models.RefundRow:
    stored = new_refund_row(refund, contract, recorded_by, now)
    session.add(stored)
    return stored


def add_invoice(
    session: AsyncSession,
    invoice_id: str,
    invoice: payments.Invoice,
    contract: models.Contract,
    recorded_by: str,
    now: datetime,
) -> models.InvoiceRow:
    stored = new_invoice_row(invoice_id, invoice, contract, recorded_by, now)
    session.add(stored)
    return stored


async def allocations(
    session: AsyncSession, receipt_ids: Sequence[str], *, ordered: bool = False
) -> dict[str, list[models.ReceiptAllocationRow]]:
    """How each of these receipts was applied, in one query (`ordered`: by instalment)."""
    found: dict[str, list[models.ReceiptAllocationRow]] = {receipt_id: [] for receipt_id in receipt_ids}
    if not found:
        return found
    stmt = select(models.ReceiptAllocationRow).where(models.ReceiptAllocationRow.receipt_id.in_(list(found)))
    if ordered:
        stmt = stmt.order_by(models.ReceiptAllocationRow.instalment_seq)
    for allocation in await session.scalars(stmt):
        found[allocation.receipt_id].append(allocation)
    return found


async def receipt_views(session: AsyncSession, rows: Sequence[models.ReceiptRow]) -> list[ReceiptView]:
    """A page of receipts with their allocations: two queries whatever the page size."""
    shares = await allocations(session, [row.id for row in rows])
    return [ReceiptView(row, shares[row.id]) for row in rows]


async def replace_plan(session: AsyncSession, contract_id: str, plan: Sequence[payments.Instalment]) -> None:
    """The contract's instalments, nothing paid yet (the caller resettles)."""
    await session.execute(delete(models.InstalmentRow).where(models.InstalmentRow.contract_id == contract_id))
    session.add_all(new_instalment_rows(contract_id, plan))
    await session.flush()


async def store_settlement(
    session: AsyncSession,
    contract: models.Contract,
    plan: Sequence[models.InstalmentRow],
    receipt_ids: Sequence[str],
    settlement: Settlement,
) -> None:
    """What each instalment has been paid, the contract's credit and how each receipt was applied
    (only receipts' shares are stored: refunds take money back from credit and instalments)."""
    paid = {b.seq: b.paid.amount for b in settlement.balances}
    for instalment in plan:
        instalment.paid = paid[instalment.seq]
    contract.credit = settlement.credit.amount
    if receipt_ids:
        await session.execute(
            delete(models.ReceiptAllocationRow).where(models.ReceiptAllocationRow.receipt_id.in_(list(receipt_ids)))
        )
    shares: dict[tuple[str, int], Decimal] = {}
    known = set(receipt_ids)
    for allocation in (a for a in settlement.allocations if a.source_id in known):
        key = (allocation.source_id, allocation.instalment_seq or 0)
        shares[key] = shares.get(key, Decimal(0)) + allocation.amount.amount
    for (receipt_id, seq), amount in shares.items():
        session.add(models.ReceiptAllocationRow(receipt_id=receipt_id, instalment_seq=seq, amount=amount))


async def page_in_scope(
    session: AsyncSession,
    principal: Principal,
    table: type[models.ReceiptRow | models.RefundRow | models.InvoiceRow],
    contract_id: str,
    page_size: int,
    cursor: str,
) -> Page:  # type: ignore[type-arg]
    """Receipts, refunds or invoices in the caller's payments scope, in one query."""
    principal.require("payments:read")
    query = select(table).where(scope_filter(principal, "payments:read", table.owner_id, table.org_path))
    if contract_id:
        query = query.where(table.contract_id == contract_id)
    return await keyset_page(session, query, table.id, page_size, cursor)


async def receipt_locked(session: AsyncSession, receipt_id: str) -> models.ReceiptRow | None:
    return await session.scalar(select(models.ReceiptRow).where(models.ReceiptRow.id == receipt_id).with_for_update())


async def receivable_instalments(
    session: AsyncSession, principal: Principal, statuses: Sequence[str]
) -> list[receivables.InstalmentRow]:
    """Every instalment of the contracts in these statuses within the caller's payments:read
    scope, with what was paid on it, in one query."""
    stmt = (
        select(models.InstalmentRow, models.Contract)
        .join(models.Contract, models.Contract.id == models.InstalmentRow.contract_id)
        .where(
            models.Contract.status.in_(statuses),
            scope_filter(principal, "payments:read", models.Contract.owner_id, models.Contract.org_path),
        )
    )
    return [
        receivables.InstalmentRow(
            contract_id=c.id,
            customer_id=c.customer_id,
            owner_id=c.owner_id,
            instalment_seq=i.seq,
            due_date=i.due_date,
            amount=Money(i.amount, c.currency),
            paid=Money(i.paid, c.currency),
            org_unit_id=c.org_unit_id,
        )
        for i, c in (await session.execute(stmt)).tuples().all()
    ]


async def payable(session: AsyncSession, principal: Principal, contract_id: str) -> models.Contract:
    """Locked, within the caller's payments:create scope."""
    row = await session.scalar(select(models.Contract).where(models.Contract.id == contract_id).with_for_update())
    if row is None or not principal.can_see("payments:create", row.owner_id, row.org_path):
        raise NotFound(f"contract {contract_id} not found", "contract_id")
    return row
