"""The customers service's own tables (nobody else reads them)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from salesgrid_common.db import UtcDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime()}


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    normalised_name: Mapped[str] = mapped_column(String(200), index=True)  # exact duplicate lookup
    credit_code: Mapped[str | None] = mapped_column(String(18), index=True)
    industry: Mapped[str | None] = mapped_column(String(200))
    address_text: Mapped[str | None] = mapped_column(String(400))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    tier: Mapped[str] = mapped_column(String(16))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str | None] = mapped_column(String(200))
    owner_id: Mapped[str | None] = mapped_column(String(36), index=True)  # None: in the public pool
    org_path: Mapped[str] = mapped_column(String(1000), index=True)  # owner's path; scope filters
    previous_owner_id: Mapped[str | None] = mapped_column(String(36))
    released_at: Mapped[datetime | None]
    assigned_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CustomerNameKey(Base):
    """Candidate keys of the duplicate check (dedup.candidate_keys): the (key, customer) primary
    key is the index a probe's keys are looked up in, so the check never scans customers."""
    __tablename__ = "customer_name_keys"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True, index=True)


class Contact(Base):
    __tablename__ = "customer_contacts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    phones: Mapped[list[str]] = mapped_column(JSON, default=list)
    email: Mapped[str | None] = mapped_column(String(254))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class Share(Base):
    __tablename__ = "customer_shares"
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)  # the sharee's scope clause
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class PoolClaim(Base):
    """Claims from the public pool, counted against the per-day cap."""
    __tablename__ = "customer_pool_claims"
    __table_args__ = (Index("ix_customer_pool_claims_user_time", "user_id", "claimed_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    user_id: Mapped[str] = mapped_column(String(36))
    claimed_at: Mapped[datetime]
