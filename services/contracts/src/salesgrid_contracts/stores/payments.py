"""The payments store: a contract's instalments (with what each has been paid and the contract's
credit), refunds and invoices <-> the domain's payment plan and payment records; the contract a
payment is recorded on; receivables in one query. Receipts: stores/receipts.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.errors import NotFound
from salesgrid_common.localtime import latest_local_date
from salesgrid_common.paging import Page
from salesgrid_contracts import models
from salesgrid_contracts.domain import payments, receivables
from salesgrid_contracts.domain.contract_records import ContractRecord
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.domain.payment_records import DueInstalment, InvoiceRecord, PaymentPlan, RefundRecord
from salesgrid_contracts.domain.settlement import InstalmentBalance, Settlement
from salesgrid_contracts.stores import contracts as contract_store
from salesgrid_contracts.stores.payment_pages import page_in_scope


def instalment_of(row: models.InstalmentRow, currency: str) -> payments.Instalment:
    return payments.Instalment(row.seq, row.due_date, Money(row.amount, currency))


def refund_of(row: models.RefundRow) -> payments.Refund:
    return payments.Refund(row.id, row.refunded_on, Money(row.amount, row.currency), row.reason)


def invoice_of(row: models.InvoiceRow) -> payments.Invoice:
    return payments.Invoice(
        row.number, Money(row.amount, row.currency), row.issued_on, payments.InvoiceStatus(row.status)
    )


async def _instalment_rows(session: AsyncSession, contract_id: str) -> list[models.InstalmentRow]:
    stmt = select(models.InstalmentRow).where(models.InstalmentRow.contract_id == contract_id)
    return list(await session.scalars(stmt.order_by(models.InstalmentRow.seq)))


async def instalments(session: AsyncSession, contract_id: str, currency: str) -> list[payments.Instalment]:
    """The contract's plan, by sequence."""
    return [instalment_of(row, currency) for row in await _instalment_rows(session, contract_id)]


async def plan(session: AsyncSession, contract: ContractRecord) -> PaymentPlan:
    """The contract's plan as stored: what each instalment has been paid, and its credit."""
    currency = contract.currency
    balances = tuple(
        InstalmentBalance(row.seq, row.due_date, Money(row.amount, currency), Money(row.paid, currency))
        for row in await _instalment_rows(session, contract.contract_id)
    )
    credit = await session.scalar(select(models.Contract.credit).where(models.Contract.id == contract.contract_id))
    return PaymentPlan(contract.contract_id, currency, balances, Money(credit or Decimal(0), currency))


async def outstanding(session: AsyncSession, contract_id: str) -> Decimal:
    """What the contract's instalments still owe."""
    return sum((i.amount - i.paid for i in await _instalment_rows(session, contract_id)), Decimal(0))


async def replace_plan(session: AsyncSession, contract_id: str, plan: Sequence[payments.Instalment]) -> None:
    """The contract's instalments, nothing paid yet (the caller resettles)."""
    await session.execute(delete(models.InstalmentRow).where(models.InstalmentRow.contract_id == contract_id))
    session.add_all(
        models.InstalmentRow(
            contract_id=contract_id, seq=item.seq, due_date=item.due_date, amount=item.amount.amount, paid=Decimal(0)
        )
        for item in plan
    )
    await session.flush()


async def store_settlement(session: AsyncSession, contract_id: str, settlement: Settlement) -> None:
    """What each instalment has been paid and the contract's credit (receipts' allocations:
    receipts.store_allocations)."""
    paid = {b.seq: b.paid.amount for b in settlement.balances}
    for instalment in await _instalment_rows(session, contract_id):
        instalment.paid = paid[instalment.seq]
    (await contract_store.get(session, contract_id)).credit = settlement.credit.amount


async def refunds(session: AsyncSession, contract_id: str) -> list[payments.Refund]:
    stmt = select(models.RefundRow).where(models.RefundRow.contract_id == contract_id)
    return [refund_of(row) for row in await session.scalars(stmt)]


async def invoices(session: AsyncSession, contract_id: str) -> list[payments.Invoice]:
    stmt = select(models.InvoiceRow).where(models.InvoiceRow.contract_id == contract_id)
    return [invoice_of(row) for row in await session.scalars(stmt)]


async def invoice_number_taken(session: AsyncSession, number: str) -> bool:
    return bool(await session.scalar(select(models.InvoiceRow.id).where(models.InvoiceRow.number == number)))


def add_refund(
    session: AsyncSession, refund: payments.Refund, contract: ContractRecord, recorded_by: str, now: datetime
) -> RefundRecord:
    session.add(
        models.RefundRow(
            id=refund.refund_id,
            contract_id=contract.contract_id,
            owner_id=contract.owner_id,
            org_path=contract.org_path,
            refunded_on=refund.refunded_on,
            amount=refund.amount.amount,
            currency=refund.amount.currency,
            reason=refund.reason,
            recorded_by=recorded_by,
            created_at=now,
        )
    )
    return RefundRecord(refund, contract.contract_id)


def add_invoice(
    session: AsyncSession,
    invoice_id: str,
    invoice: payments.Invoice,
    contract: ContractRecord,
    recorded_by: str,
    now: datetime,
) -> InvoiceRecord:
    session.add(
        models.InvoiceRow(
            id=invoice_id,
            contract_id=contract.contract_id,
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
    )
    return InvoiceRecord(invoice_id, contract.contract_id, invoice)


async def refund_page(
    session: AsyncSession, principal: Principal, contract_id: str, page_size: int, cursor: str
) -> Page[RefundRecord]:
    found = await page_in_scope(session, principal, models.RefundRow, contract_id, page_size, cursor)
    return Page([RefundRecord(refund_of(row), row.contract_id) for row in found.items], found.next_token)


async def invoice_page(
    session: AsyncSession, principal: Principal, contract_id: str, page_size: int, cursor: str
) -> Page[InvoiceRecord]:
    found = await page_in_scope(session, principal, models.InvoiceRow, contract_id, page_size, cursor)
    return Page([InvoiceRecord(row.id, row.contract_id, invoice_of(row)) for row in found.items], found.next_token)


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


async def payable(session: AsyncSession, principal: Principal, contract_id: str) -> ContractRecord:
    """The contract, locked, within the caller's payments:create scope."""
    row = await session.scalar(select(models.Contract).where(models.Contract.id == contract_id).with_for_update())
    if row is None or not principal.can_see("payments:create", row.owner_id, row.org_path):
        raise NotFound(f"contract {contract_id} not found", "contract_id")
    return contract_store.record_of(await contract_store.view(session, row))


async def unreminded_overdue(session: AsyncSession, now: datetime) -> list[DueInstalment]:
    """Instalments of signed or active contracts not yet reminded of and due before the latest
    local date on earth (each is then judged on its own branch's calendar), with their contracts;
    locked, skipping rows another replica holds."""
    stmt = (
        select(models.InstalmentRow, models.Contract)
        .join(models.Contract, models.Contract.id == models.InstalmentRow.contract_id)
        .where(
            models.Contract.status.in_(("signed", "active")),
            models.InstalmentRow.overdue_reminded_at.is_(None),
            models.InstalmentRow.due_date < latest_local_date(now),
        )
        .with_for_update(of=models.InstalmentRow, skip_locked=True)
    )
    return [
        DueInstalment(
            contract_id=c.id,
            number=c.number,
            customer_id=c.customer_id,
            owner_id=c.owner_id,
            org_unit_id=c.org_unit_id,
            org_path=c.org_path,
            balance=InstalmentBalance(i.seq, i.due_date, Money(i.amount, c.currency), Money(i.paid, c.currency)),
        )
        for i, c in (await session.execute(stmt)).tuples().all()
    ]


async def mark_overdue_reminded(session: AsyncSession, due: DueInstalment, now: datetime) -> None:
    """The instalment's overdue reminder is sent (once: `unreminded_overdue` skips it)."""
    await session.execute(
        update(models.InstalmentRow)
        .where(models.InstalmentRow.contract_id == due.contract_id, models.InstalmentRow.seq == due.balance.seq)
        .values(overdue_reminded_at=now)
    )
