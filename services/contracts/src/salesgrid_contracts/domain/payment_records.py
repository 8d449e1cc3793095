"""Payments as the service keeps them: a receipt, refund or invoice with the contract it belongs
to and what is recorded about it besides the payment rules' own values (who recorded it, the scope
it is read in, how a receipt was applied), and a contract's payment plan with what each instalment
has been paid. Use cases hold these; answers and events are built from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .money import Money
from .payments import Invoice, Receipt, Refund
from .settlement import InstalmentBalance


@dataclass(frozen=True)
class ReceiptAllocation:
    instalment_seq: int  # 0: kept as the contract's credit
    amount: Money


@dataclass(frozen=True)
class ReceiptRecord:
    receipt: Receipt
    contract_id: str
    owner_id: str  # the contract's owner and unit path: the receipt is read in his scope
    org_path: str
    recorded_by: str
    created_at: datetime
    allocations: tuple[ReceiptAllocation, ...] = ()  # by instalment

    @property
    def receipt_id(self) -> str:
        return self.receipt.receipt_id


@dataclass(frozen=True)
class RefundRecord:
    refund: Refund
    contract_id: str


@dataclass(frozen=True)
class InvoiceRecord:
    invoice_id: str
    contract_id: str
    invoice: Invoice


@dataclass(frozen=True)
class PaymentPlan:
    """A contract's instalments, by sequence, with what each has been paid, and its credit."""

    contract_id: str
    currency: str
    instalments: tuple[InstalmentBalance, ...]
    credit: Money


@dataclass(frozen=True)
class DueInstalment:
    """An instalment with what has been paid on it, and the contract it is owed on."""

    contract_id: str
    number: str
    customer_id: str
    owner_id: str
    org_unit_id: str  # whose calendar says when it is overdue
    org_path: str
    balance: InstalmentBalance
