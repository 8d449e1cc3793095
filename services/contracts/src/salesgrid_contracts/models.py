"""The contracts service's own tables (nobody else reads them).

Money is stored as exact decimal text (`DecimalText`): SQLite has no exact numeric type, and the
domain does all arithmetic in Decimal anyway."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from salesgrid_common.db import DecimalText, UtcDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime(), Decimal: DecimalText(), date: Date()}


class Product(Base):
    __tablename__ = "products"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # {currency: "amount"}: the list price per currency.
    prices: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]


class ContractCounter(Base):
    """Last number allocated per (branch, year); locked and bumped in the creating transaction."""

    __tablename__ = "contract_counters"
    branch_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class Contract(Base):
    __tablename__ = "contracts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[str] = mapped_column(String(36), index=True)
    owner_id: Mapped[str] = mapped_column(String(36), index=True)
    org_unit_id: Mapped[str] = mapped_column(String(36))
    org_path: Mapped[str] = mapped_column(String(1000), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    start_date: Mapped[date]
    end_date: Mapped[date]
    terms: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), index=True)
    total: Mapped[Decimal]
    credit: Mapped[Decimal]
    signed_on: Mapped[date | None]
    # The approval flow under way: "contract" or "termination" (None when none is pending).
    approval_kind: Mapped[str | None] = mapped_column(String(20))
    approval_round: Mapped[int] = mapped_column(Integer, default=0)
    approval_started_at: Mapped[datetime | None]
    termination_reason: Mapped[str | None] = mapped_column(Text)
    termination_requested_by: Mapped[str | None] = mapped_column(String(36))
    termination_requested_at: Mapped[datetime | None]
    terminated_at: Mapped[datetime | None]
    # The contract version in force (bumped by each applied amendment); `version` is the
    # optimistic-concurrency counter of the row.
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    opportunity_id: Mapped[str | None] = mapped_column(String(36), index=True)
    channel: Mapped[str] = mapped_column(String(16), default="direct", server_default="direct")  # 销售渠道
    partner_id: Mapped[str] = mapped_column(String(64), default="", server_default="", index=True)
    # References to documents in the document store: [{document_id, file_name, content_type,
    # size_bytes, sha256}].
    attachments: Mapped[list[dict[str, str | int]]] = mapped_column(JSON, default=list, server_default="[]")
    template_id: Mapped[str | None] = mapped_column(String(64))
    template_version: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    # Custom field values by key (salesgrid_common.custom_fields; filtered through its value index).
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, server_default="{}")


class ContractTemplateRow(Base):
    """One version of a standard contract template; versions are never changed, only added."""

    __tablename__ = "contract_templates"
    template_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    terms: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime]


class ContractRevision(Base):
    """A contract body kept as its own version: the one an amendment superseded, a proposed
    amendment under approval, or a rejected one. `lines` holds ContractLine columns as text."""

    __tablename__ = "contract_revisions"
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[date]
    end_date: Mapped[date]
    terms: Mapped[str] = mapped_column(Text, default="")
    lines: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    total: Mapped[Decimal]
    attachments: Mapped[list[dict[str, str | int]]] = mapped_column(JSON, default=list, server_default="[]")
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime]


class ContractLine(Base):
    __tablename__ = "contract_lines"
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal]
    unit_price: Mapped[Decimal]
    discount_percent: Mapped[Decimal]


class ApprovalStepRow(Base):
    """One step of an approval flow; each submission or termination request is a new round."""

    __tablename__ = "approval_steps"
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), primary_key=True)
    round: Mapped[int] = mapped_column(Integer, primary_key=True)
    step_order: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(40))
    approver_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(20))
    activated_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)


class ApprovalRuleSet(Base):
    """An org unit's own approval thresholds: [{"up_to": "100000.00" | null, "role": "manager"}]."""

    __tablename__ = "approval_rules"
    org_unit_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    thresholds: Mapped[list[dict[str, str | None]]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(36))
    updated_at: Mapped[datetime]


class InstalmentRow(Base):
    __tablename__ = "instalments"
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    amount: Mapped[Decimal]
    paid: Mapped[Decimal]
    # When the overdue reminder went out (once per instalment).
    overdue_reminded_at: Mapped[datetime | None]


class ReceiptRow(Base):
    __tablename__ = "receipts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), index=True)
    owner_id: Mapped[str] = mapped_column(String(36), index=True)
    org_path: Mapped[str] = mapped_column(String(1000), index=True)
    received_on: Mapped[date]
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(100), default="")
    recorded_by: Mapped[str] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]


class RefundRow(Base):
    __tablename__ = "refunds"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), index=True)
    owner_id: Mapped[str] = mapped_column(String(36), index=True)
    org_path: Mapped[str] = mapped_column(String(1000), index=True)
    refunded_on: Mapped[date]
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime]


class InvoiceRow(Base):
    __tablename__ = "invoices"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), index=True)
    owner_id: Mapped[str] = mapped_column(String(36), index=True)
    org_path: Mapped[str] = mapped_column(String(1000), index=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    issued_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(10))
    recorded_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime]


class ReceiptAllocationRow(Base):
    """How a receipt was applied: to an instalment, or to credit (instalment_seq 0)."""

    __tablename__ = "receipt_allocations"
    receipt_id: Mapped[str] = mapped_column(ForeignKey("receipts.id"), primary_key=True)
    instalment_seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    amount: Mapped[Decimal]


class CustomerName(Base):
    """Customers' legal names from customers' events (customer_names.py), for printed documents."""

    __tablename__ = "customer_names"
    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(300))
    updated_at: Mapped[datetime]


class DocumentCounter(Base):
    """Last printed-document number per (kind, branch, year): receipts are numbered without gaps."""

    __tablename__ = "document_counters"
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    branch_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class PrintedDocument(Base):
    """The original of a printed document (a receipt, or a contract at one revision), kept as the
    record's attachment; `document` is what it says (domain/documents.py) so copies match it."""

    __tablename__ = "printed_documents"
    __table_args__ = (UniqueConstraint("kind", "subject_id", "revision", name="uq_printed_documents_subject"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(36), index=True)  # the receipt's or the contract's id
    revision: Mapped[int] = mapped_column(Integer, default=0)  # the contract revision (0 for receipts)
    contract_id: Mapped[str] = mapped_column(String(36), index=True)
    number: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[str] = mapped_column(String(36))
    org_path: Mapped[str] = mapped_column(String(1000), index=True)
    document: Mapped[dict[str, object]] = mapped_column(JSON)
    file_name: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    copies: Mapped[int] = mapped_column(Integer, default=0)
    printed_by: Mapped[str] = mapped_column(String(36))
    printed_at: Mapped[datetime]
    last_printed_at: Mapped[datetime]


Index("ix_contracts_owner_status", Contract.owner_id, Contract.status)
