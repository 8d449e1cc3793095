"""Event payloads of the contracts service, each built in this one place."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from decimal import Decimal

from salesgrid.events.v1.contracts_events_pb2 import (
    ContractsApprovalStep,
    ContractsContractState,
    ContractsDocumentPrinted,
    ContractsInstalmentOverdue,
    ContractsInstalmentState,
    ContractsInvoiceIssued,
    ContractsPaymentPlanSet,
    ContractsReceiptAllocationState,
    ContractsReceiptRecorded,
    ContractsRefundRecorded,
)
from salesgrid_common.custom_fields.structs import struct_of
from salesgrid_contracts.domain import payments
from salesgrid_contracts.domain.contract_records import ContractRecord, RoundStep
from salesgrid_contracts.domain.documents import PrintedOriginal
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.domain.payment_records import DueInstalment, InvoiceRecord, ReceiptRecord, RefundRecord


def contract_state(record: ContractRecord, comment: str = "") -> ContractsContractState:
    contract = record.contract
    return ContractsContractState(
        contract_id=contract.contract_id,
        number=contract.number,
        customer_id=contract.customer_id,
        owner_id=contract.owner_id,
        org_path=record.org_path,
        currency=contract.currency,
        total=str(record.total.amount),
        status=contract.status.value,
        approval_kind=record.approval_kind or "",
        comment=comment,
        version=record.version,
        revision=contract.version,
        custom_fields=struct_of(dict(record.custom_fields)),
        channel=record.channel or "direct",
        partner_id=record.partner_id or "",
    )


def approval_step(recorded: RoundStep) -> ContractsApprovalStep:
    step = recorded.step
    return ContractsApprovalStep(
        contract_id=recorded.contract_id,
        number=recorded.number,
        approval_kind=recorded.kind,
        round=recorded.round,
        step_order=step.order,
        role=step.role,
        approver_id=step.approver_id,
        status=step.status.value,
        comment=step.comment or "",
    )


def instalment_overdue(due: DueInstalment) -> ContractsInstalmentOverdue:
    balance = due.balance
    return ContractsInstalmentOverdue(
        contract_id=due.contract_id,
        number=due.number,
        customer_id=due.customer_id,
        owner_id=due.owner_id,
        seq=balance.seq,
        due_date=balance.due_date.isoformat(),
        outstanding=str(balance.outstanding.amount),
        currency=balance.amount.currency,
    )


def money_text(amount: Decimal, currency: str) -> str:
    """An amount as events carry it: in the currency's minor units."""
    return str(Money(amount, currency).amount)


def payment_plan_set(record: ContractRecord, plan: Sequence[payments.Instalment]) -> ContractsPaymentPlanSet:
    return ContractsPaymentPlanSet(
        contract_id=record.contract_id,
        currency=record.currency,
        instalments=[
            ContractsInstalmentState(seq=i.seq, due_date=i.due_date.isoformat(), amount=str(i.amount.amount))
            for i in plan
        ],
    )


def receipt_recorded(stored: ReceiptRecord, record: ContractRecord, credit: Money) -> ContractsReceiptRecorded:
    """The receipt with how it was applied and the contract's credit after it."""
    receipt = stored.receipt
    return ContractsReceiptRecorded(
        receipt_id=receipt.receipt_id,
        contract_id=record.contract_id,
        customer_id=record.contract.customer_id,
        received_on=receipt.received_on.isoformat(),
        amount=str(receipt.amount.amount),
        currency=record.currency,
        method=receipt.method.value,
        credit=str(credit.amount),
        owner_id=record.owner_id,
        channel=record.channel or "direct",
        partner_id=record.partner_id or "",
        allocations=[
            ContractsReceiptAllocationState(instalment_seq=a.instalment_seq, amount=str(a.amount.amount))
            for a in stored.allocations
        ],
    )


def refund_recorded(stored: RefundRecord, record: ContractRecord) -> ContractsRefundRecorded:
    refund = stored.refund
    return ContractsRefundRecorded(
        refund_id=refund.refund_id,
        contract_id=record.contract_id,
        customer_id=record.contract.customer_id,
        refunded_on=refund.refunded_on.isoformat(),
        amount=str(refund.amount.amount),
        currency=record.currency,
        reason=refund.reason,
        channel=record.channel or "direct",
        partner_id=record.partner_id or "",
    )


def invoice_issued(stored: InvoiceRecord, record: ContractRecord) -> ContractsInvoiceIssued:
    invoice = stored.invoice
    return ContractsInvoiceIssued(
        invoice_id=stored.invoice_id,
        contract_id=record.contract_id,
        customer_id=record.contract.customer_id,
        number=invoice.number,
        amount=str(invoice.amount.amount),
        currency=record.currency,
        issued_on=invoice.issued_on.isoformat(),
    )


def document_printed(
    original: PrintedOriginal, copy_number: int, printed_by: str, content: bytes
) -> ContractsDocumentPrinted:
    """A print of a document: the original (copy 0) or a copy, with the digest of what was printed."""
    return ContractsDocumentPrinted(
        document_id=original.document_id,
        kind=original.kind.value,
        subject_id=original.subject_id,
        contract_id=original.contract_id,
        number=original.number,
        copy_number=copy_number,
        printed_by=printed_by,
        sha256=hashlib.sha256(content).hexdigest(),
    )
