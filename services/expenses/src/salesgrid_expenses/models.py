"""The expenses service's own tables (nobody else reads them).

Money is stored as exact decimal text (`DecimalText`): SQLite has no exact numeric type, and the
domain does all arithmetic in Decimal anyway."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from salesgrid_common.db import DecimalText, UtcDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime(), Decimal: DecimalText(), date: Date()}


class Claim(Base):
    __tablename__ = "expense_claims"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(36), index=True)
    org_unit_id: Mapped[str] = mapped_column(String(36))
    org_path: Mapped[str] = mapped_column(String(1000), index=True)
    title: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal]
    status: Mapped[str] = mapped_column(String(20), index=True)
    approval_started_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    paid_on: Mapped[date | None]
    payment_reference: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]


class ClaimLine(Base):
    __tablename__ = "expense_lines"
    # Daily limits sum a person's lines per day and category.
    __table_args__ = (Index("ix_expense_lines_owner_day", "owner_id", "spent_on"),)
    claim_id: Mapped[str] = mapped_column(ForeignKey("expense_claims.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(36))
    category: Mapped[str] = mapped_column(String(20))
    spent_on: Mapped[date]
    amount: Mapped[Decimal]
    description: Mapped[str] = mapped_column(Text, default="")
    visit_id: Mapped[str] = mapped_column(String(36), default="")
    customer_id: Mapped[str] = mapped_column(String(36), default="", index=True)
    opportunity_id: Mapped[str] = mapped_column(String(36), default="", index=True)


class ReceiptRow(Base):
    __tablename__ = "expense_receipts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("expense_claims.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class ApprovalStepRow(Base):
    __tablename__ = "expense_approval_steps"
    claim_id: Mapped[str] = mapped_column(ForeignKey("expense_claims.id"), primary_key=True)
    step_order: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(40))
    approver_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(20))
    activated_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)


class PolicyRow(Base):
    """An org unit's own expense policy: limits {"travel": "800.00", …}."""

    __tablename__ = "expense_policies"
    org_unit_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    limits: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    director_above: Mapped[Decimal | None]
    updated_by: Mapped[str] = mapped_column(String(36))
    updated_at: Mapped[datetime]
