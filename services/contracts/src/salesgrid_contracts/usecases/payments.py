"""Payments use cases."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth import Principal
from salesgrid_common.errors import AlreadyExists, FailedPrecondition, ValidationFailed
from salesgrid_common.ids import new_id
from salesgrid_common.localtime import unit_calendar
from salesgrid_common.paging import Page
from salesgrid_contracts import models
from salesgrid_contracts.domain import payments
from salesgrid_contracts.domain import settlement as settling
from salesgrid_contracts.domain.money import Money, parse_money

from salesgrid_contracts.stores import contracts as contract_store
from salesgrid_contracts.stores import payments as payment_store
from salesgrid_contracts.stores.payments import PlanView, ReceiptView
from salesgrid_contracts.payloads import invoice_issued, payment_plan_set, receipt_recorded, refund_recorded
from salesgrid_contracts.usecases._support import ContractsUseCasesBase, parse_day


class PaymentsMixin(ContractsUseCasesBase):
    """ContractsUseCases: payments."""

    async def _resettle(self, session: AsyncSession, row: models.Contract) -> settling.Settlement:
        """Replay every receipt of the contract over its plan; stores paid amounts, credit and
        the allocations (a backdated receipt may move earlier receipts' shares)."""
        plan = await payment_store.instalments(session, row.id)
        receipts = await payment_store.receipt_rows(session, row.id)
        settlement = settling.settle(
            [payment_store.instalment_of(i, row.currency) for i in plan],
            [payment_store.receipt_of(r) for r in receipts],
            await payment_store.refunds(session, row.id),
            row.currency,
        )
        await payment_store.store_settlement(session, row, plan, [r.id for r in receipts], settlement)
        return settlement

    async def set_payment_plan(
        self, principal: Principal, contract_id: str, instalments: Sequence[tuple[str, str]]
    ) -> PlanView:
        principal.require("contracts:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await contract_store.load_in_scope(session, principal, contract_id, "contracts:update", lock=True)
            if row.status in ("completed", "terminated"):
                raise FailedPrecondition(f"a {row.status} contract's plan cannot change", "status")
            pairs = [
                (
                    parse_day(due, f"instalments[{i}].due_date"),
                    parse_money(amount, row.currency, f"instalments[{i}].amount", allow_negative=True),
                )
                for i, (due, amount) in enumerate(instalments)
            ]
            plan = payments.build_payment_plan(Money(row.total, row.currency), row.start_date, pairs)
            await payment_store.replace_plan(session, row.id, plan)
            await self._resettle(session, row)
            contract_store.save(row)
            payload = payment_plan_set(row, plan)
            await self._event(session, "payment_plan.set", payload, row.id, principal, row.org_path, now)
            await session.flush()
            return PlanView(row, await payment_store.instalments(session, row.id))

    async def get_payment_plan(self, principal: Principal, contract_id: str) -> PlanView:
        principal.require("contracts:read")
        async with self.sessions() as session:
            row = await contract_store.load_in_scope(session, principal, contract_id, "contracts:read")
            return PlanView(row, await payment_store.instalments(session, row.id))

    async def record_receipt(
        self, principal: Principal, *, contract_id: str, received_on: str, amount: str, method: str, reference: str
    ) -> ReceiptView:
        principal.require("payments:create")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await payment_store.payable(session, principal, contract_id)
            today = (await unit_calendar(session, row.org_unit_id)).today(now)  # the branch's calendar
            receipt = payments.record_receipt(
                contract_store.domain_of(await contract_store.view(session, row)),
                receipt_id=new_id(),
                received_on=parse_day(received_on, "received_on") if received_on else today,
                amount=parse_money(amount, row.currency, "amount"),
                method=method or "bank_transfer",
                reference=reference,
                today=today,
            )
            stored = payment_store.add_receipt(session, receipt, row, principal.subject_id, now)
            await session.flush()
            await self._resettle(session, row)
            contract_store.save(row)
            await session.flush()
            allocations = (await payment_store.allocations(session, [stored.id], ordered=True))[stored.id]
            payload = receipt_recorded(receipt, row, allocations)
            await self._event(session, "receipt.recorded", payload, stored.id, principal, row.org_path, now)
            return ReceiptView(stored, allocations)

    async def list_receipts(
        self, principal: Principal, contract_id: str, page_size: int = 0, cursor: str = ""
    ) -> Page[ReceiptView]:
        async with self.sessions() as session:
            page = await payment_store.page_in_scope(
                session, principal, models.ReceiptRow, contract_id, page_size, cursor
            )
            return Page(await payment_store.receipt_views(session, page.items), page.next_token)

    async def record_refund(
        self, principal: Principal, *, contract_id: str, refunded_on: str, amount: str, reason: str
    ) -> models.RefundRow:
        """A refund of money received: never more than collected net of earlier refunds (also as
        of its own date, when backdated)."""
        principal.require("payments:create")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await payment_store.payable(session, principal, contract_id)
            today = (await unit_calendar(session, row.org_unit_id)).today(now)
            receipts = [payment_store.receipt_of(r) for r in await payment_store.receipt_rows(session, row.id)]
            refund = payments.record_refund(
                contract_store.domain_of(await contract_store.view(session, row)),
                refund_id=new_id(),
                refunded_on=parse_day(refunded_on, "refunded_on") if refunded_on else today,
                amount=parse_money(amount, row.currency, "amount", allow_negative=True),
                reason=reason,
                receipts=receipts,
                refunds=await payment_store.refunds(session, row.id),
                today=today,
            )
            stored = payment_store.add_refund(session, refund, row, principal.subject_id, now)
            await session.flush()
            try:
                await self._resettle(session, row)
            except ValidationFailed as exc:  # collected in total, but not yet by the refund's date
                raise ValidationFailed(exc.message, "refunded_on") from None
            contract_store.save(row)
            payload = refund_recorded(refund, row)
            await self._event(session, "refund.recorded", payload, stored.id, principal, row.org_path, now)
            return stored

    async def list_refunds(
        self, principal: Principal, contract_id: str, page_size: int = 0, cursor: str = ""
    ) -> Page[models.RefundRow]:
        async with self.sessions() as session:
            return await payment_store.page_in_scope(
                session, principal, models.RefundRow, contract_id, page_size, cursor
            )

    async def issue_invoice(
        self, principal: Principal, *, contract_id: str, number: str, amount: str, issued_on: str
    ) -> models.InvoiceRow:
        """An invoice on a contract in force (or completed); the invoiced total never exceeds the
        contract total and numbers are unique."""
        principal.require("payments:create")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await payment_store.payable(session, principal, contract_id)
            today = (await unit_calendar(session, row.org_unit_id)).today(now)
            existing = await payment_store.invoices(session, row.id)
            invoice = payments.issue_invoice(
                contract_store.domain_of(await contract_store.view(session, row)),
                existing,
                number=number.strip(),
                amount=parse_money(amount, row.currency, "amount", allow_negative=True),
                issued_on=parse_day(issued_on, "issued_on") if issued_on else today,
                today=today,
            )
            if await payment_store.invoice_number_taken(session, invoice.number):
                raise AlreadyExists(f"invoice {invoice.number} already exists", "number")
            stored = payment_store.add_invoice(session, new_id(), invoice, row, principal.subject_id, now)
            contract_store.save(row)
            payload = invoice_issued(stored.id, invoice, row)
            await self._event(session, "invoice.issued", payload, stored.id, principal, row.org_path, now)
            return stored

    async def list_invoices(
        self, principal: Principal, contract_id: str, page_size: int = 0, cursor: str = ""
    ) -> Page[models.InvoiceRow]:
        async with self.sessions() as session:
            return await payment_store.page_in_scope(
                session, principal, models.InvoiceRow, contract_id, page_size, cursor
            )
