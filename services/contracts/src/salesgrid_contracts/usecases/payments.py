"""Payments use cases: the plan, receipts, refunds and invoices of a contract (load the contract
-> the payment rules -> save the payment, resettle, save the contract -> emit)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import AlreadyExists, FailedPrecondition, ValidationFailed
from salesgrid_common.ids import new_id
from salesgrid_common.localtime import unit_calendar
from salesgrid_common.paging import Page
from salesgrid_contracts.domain import payments
from salesgrid_contracts.domain import settlement as settling
from salesgrid_contracts.domain.contract_records import ContractRecord
from salesgrid_contracts.domain.contracts import ContractStatus
from salesgrid_contracts.domain.money import parse_money
from salesgrid_contracts.domain.payment_records import InvoiceRecord, PaymentPlan, ReceiptRecord, RefundRecord
from salesgrid_contracts.payloads import invoice_issued, payment_plan_set, receipt_recorded, refund_recorded
from salesgrid_contracts.stores import contracts as contract_store
from salesgrid_contracts.stores import payments as payment_store
from salesgrid_contracts.stores import receipts as receipt_store
from salesgrid_contracts.usecases._support import ContractsUseCasesBase, parse_day

ENDED = (ContractStatus.COMPLETED, ContractStatus.TERMINATED)


class PaymentsMixin(ContractsUseCasesBase):
    """ContractsUseCases: payments."""

    async def _resettle(self, session: AsyncSession, contract: ContractRecord) -> settling.Settlement:
        """Replay every receipt of the contract over its plan; stores paid amounts, credit and
        the allocations (a backdated receipt may move earlier receipts' shares)."""
        contract_id, currency = contract.contract_id, contract.currency
        receipts = await receipt_store.of_contract(session, contract_id)
        settlement = settling.settle(
            await payment_store.instalments(session, contract_id, currency),
            receipts,
            await payment_store.refunds(session, contract_id),
            currency,
        )
        await payment_store.store_settlement(session, contract_id, settlement)
        await receipt_store.store_allocations(session, [r.receipt_id for r in receipts], settlement)
        return settlement

    async def _payable_on(
        self, session: AsyncSession, principal: Principal, contract_id: str, now: datetime
    ) -> tuple[ContractRecord, date]:
        """The contract a receipt, refund or invoice is recorded against (locked, within the
        caller's payments:create scope) and the day `now` is in its branch's calendar: the
        payment's date when none is given, and the latest one allowed."""
        record = await payment_store.payable(session, principal, contract_id)
        return record, (await unit_calendar(session, record.org_unit_id)).today(now)

    async def set_payment_plan(
        self, principal: Principal, contract_id: str, instalments: Sequence[tuple[str, str]]
    ) -> PaymentPlan:
        principal.require("contracts:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            record = await contract_store.load(session, principal, contract_id, "contracts:update", lock=True)
            status = record.contract.status
            if status in ENDED:
                raise FailedPrecondition(f"a {status.value} contract's plan cannot change", "status")
            pairs = [
                (
                    parse_day(due, f"instalments[{i}].due_date"),
                    parse_money(amount, record.currency, f"instalments[{i}].amount", allow_negative=True),
                )
                for i, (due, amount) in enumerate(instalments)
            ]
            plan = payments.build_payment_plan(record.total, record.contract.start_date, pairs)
            await payment_store.replace_plan(session, record.contract_id, plan)
            await self._resettle(session, record)
            record = await contract_store.save_record(session, record)
            payload = payment_plan_set(record, plan)
            await self._event(session, "payment_plan.set", payload, record.contract_id, principal, record.org_path, now)
            await session.flush()
            return await payment_store.plan(session, record)

    async def get_payment_plan(self, principal: Principal, contract_id: str) -> PaymentPlan:
        principal.require("contracts:read")
        async with self.sessions() as session:
            record = await contract_store.load(session, principal, contract_id, "contracts:read")
            return await payment_store.plan(session, record)

    async def record_receipt(
        self, principal: Principal, *, contract_id: str, received_on: str, amount: str, method: str, reference: str
    ) -> ReceiptRecord:
        principal.require("payments:create")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            record, today = await self._payable_on(session, principal, contract_id, now)
            receipt = payments.record_receipt(
                record.contract,
                receipt_id=new_id(),
                received_on=parse_day(received_on, "received_on") if received_on else today,
                amount=parse_money(amount, record.currency, "amount"),
                method=method or "bank_transfer",
                reference=reference,
                today=today,
            )
            receipt_store.add(session, receipt, record, principal.subject_id, now)
            await session.flush()
            settlement = await self._resettle(session, record)
            record = await contract_store.save_record(session, record)
            await session.flush()
            stored = await receipt_store.load(session, receipt.receipt_id)
            assert stored is not None
            payload = receipt_recorded(stored, record, settlement.credit)
            await self._event(session, "receipt.recorded", payload, receipt.receipt_id, principal, record.org_path, now)
            return stored

    async def list_receipts(
        self, principal: Principal, contract_id: str, page_size: int = 0, cursor: str = ""
    ) -> Page[ReceiptRecord]:
        async with self.sessions() as session:
            return await receipt_store.page(session, principal, contract_id, page_size, cursor)

    async def record_refund(
        self, principal: Principal, *, contract_id: str, refunded_on: str, amount: str, reason: str
    ) -> RefundRecord:
        """A refund of money received: never more than collected net of earlier refunds (also as
        of its own date, when backdated)."""
        principal.require("payments:create")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            record, today = await self._payable_on(session, principal, contract_id, now)
            refund = payments.record_refund(
                record.contract,
                refund_id=new_id(),
                refunded_on=parse_day(refunded_on, "refunded_on") if refunded_on else today,
                amount=parse_money(amount, record.currency, "amount", allow_negative=True),
                reason=reason,
                receipts=await receipt_store.of_contract(session, record.contract_id),
                refunds=await payment_store.refunds(session, record.contract_id),
                today=today,
            )
            stored = payment_store.add_refund(session, refund, record, principal.subject_id, now)
            await session.flush()
            try:
                await self._resettle(session, record)
            except ValidationFailed as exc:  # collected in total, but not yet by the refund's date
                raise ValidationFailed(exc.message, "refunded_on") from None
            record = await contract_store.save_record(session, record)
            payload = refund_recorded(stored, record)
            await self._event(session, "refund.recorded", payload, refund.refund_id, principal, record.org_path, now)
            return stored

    async def list_refunds(
        self, principal: Principal, contract_id: str, page_size: int = 0, cursor: str = ""
    ) -> Page[RefundRecord]:
        async with self.sessions() as session:
            return await payment_store.refund_page(session, principal, contract_id, page_size, cursor)

    async def issue_invoice(
        self, principal: Principal, *, contract_id: str, number: str, amount: str, issued_on: str
    ) -> InvoiceRecord:
        """An invoice on a contract in force (or completed); the invoiced total never exceeds the
        contract total and numbers are unique."""
        principal.require("payments:create")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            record, today = await self._payable_on(session, principal, contract_id, now)
            invoice = payments.issue_invoice(
                record.contract,
                await payment_store.invoices(session, record.contract_id),
                number=number.strip(),
                amount=parse_money(amount, record.currency, "amount", allow_negative=True),
                issued_on=parse_day(issued_on, "issued_on") if issued_on else today,
                today=today,
            )
            if await payment_store.invoice_number_taken(session, invoice.number):
                raise AlreadyExists(f"invoice {invoice.number} already exists", "number")
            stored = payment_store.add_invoice(session, new_id(), invoice, record, principal.subject_id, now)
            record = await contract_store.save_record(session, record)
            payload = invoice_issued(stored, record)
            await self._event(session, "invoice.issued", payload, stored.invoice_id, principal, record.org_path, now)
            return stored

    async def list_invoices(
        self, principal: Principal, contract_id: str, page_size: int = 0, cursor: str = ""
    ) -> Page[InvoiceRecord]:
        async with self.sessions() as session:
            return await payment_store.invoice_page(session, principal, contract_id, page_size, cursor)
