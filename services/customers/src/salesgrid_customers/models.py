"""The customers service's own tables (nobody else reads them)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from salesgrid_common.db import DecimalText, UtcDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime()}


class Customer(Base):
    __tablename__ = "customers"
    # Two concurrent creates (or renames) of one normalised name: the duplicate check of each
    # passes, this index lets only one commit. Inactive (merged, deactivated) names are free.
    __table_args__ = (
        Index(
            "uq_customers_active_normalised_name",
            "normalised_name",
            unique=True,
            postgresql_where=text("active"),
            sqlite_where=text("active"),
        ),
    )
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
    updated_at: Mapped[datetime] = mapped_column(index=True)  # "recently updated" order
    # a channel partner (渠道伙伴): agent | distributor ("" for an ordinary customer), its own
    # partner tier and its partner agreement (a contract of this account)
    partner_channel: Mapped[str] = mapped_column(String(16), default="", server_default="", index=True)
    partner_tier: Mapped[str] = mapped_column(String(16), default="", server_default="")
    partner_contract_id: Mapped[str] = mapped_column(String(36), default="", server_default="")
    # Custom field values by key (salesgrid_common.custom_fields; filtered through its value index).
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, server_default="{}")


class CustomerNameKey(Base):
    """Name keys of active customers (search.index_keys): gram keys, which the duplicate check's
    probe keys and the name search look up, and prefix keys for short searches. The (key,
    customer) primary key is the index, so neither ever scans customers."""

    __tablename__ = "customer_name_keys"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    # On PostgreSQL the reference is checked by statement-level triggers instead of this foreign
    # key (migration b7d1e3f5a901: one check per statement, not one per key row); SQLite keeps it.
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
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, server_default="{}")


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


class RepActivity(Base):
    """Per customer and rep, what the arbitration and the automatic return compare; kept from
    activities' follow-up and pipeline's opportunity events (never by calling those services)."""

    __tablename__ = "customer_rep_activity"
    customer_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    rep_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    follow_up_count: Mapped[int] = mapped_column(Integer, default=0)
    first_follow_up_at: Mapped[datetime | None]
    last_follow_up_at: Mapped[datetime | None]
    first_opportunity_at: Mapped[datetime | None]
    last_opportunity_at: Mapped[datetime | None]
    last_deal_at: Mapped[datetime | None]


class Arbitration(Base):
    """An ownership arbitration: the competing records, the decision and the rule's evidence."""

    __tablename__ = "customer_arbitrations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_ids: Mapped[list[str]] = mapped_column(JSON)
    rep_ids: Mapped[list[str]] = mapped_column(JSON)
    registered_name: Mapped[str] = mapped_column(String(200))
    winner_rep_id: Mapped[str | None] = mapped_column(String(36))
    winner_customer_id: Mapped[str | None] = mapped_column(String(36))
    rule: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(1000))
    steps: Mapped[list[dict]] = mapped_column(JSON)
    decided_by: Mapped[str] = mapped_column(String(36))
    decided_at: Mapped[datetime]


class PoolWarning(Base):
    """Warnings already sent: the primary key (ReturnWarning.idempotency_key) makes the scheduler
    send each one once, whatever the number of replicas scanning."""

    __tablename__ = "customer_pool_warnings"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(36))
    sent_at: Mapped[datetime]


class OpportunityFact(Base):
    """Pipeline's opportunities of a customer, as its events describe them (for the 360 view)."""

    __tablename__ = "customer_opportunity_facts"
    opportunity_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(DecimalText())
    currency: Mapped[str] = mapped_column(String(3))


class ContractFact(Base):
    """Contracts' contracts of a customer, as their events describe them (for the 360 view)."""

    __tablename__ = "customer_contract_facts"
    contract_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(24))
    total: Mapped[Decimal] = mapped_column(DecimalText())
    currency: Mapped[str] = mapped_column(String(3))


class MoneyFact(Base):
    """Money collected from a customer: receipts positive, refunds negative."""

    __tablename__ = "customer_money_facts"
    entry_id: Mapped[str] = mapped_column(String(36), primary_key=True)  # receipt or refund id
    customer_id: Mapped[str] = mapped_column(String(36), index=True)
    amount: Mapped[Decimal] = mapped_column(DecimalText())
    currency: Mapped[str] = mapped_column(String(3))


class PoolPolicyRow(Base):
    """An org unit's own public-pool policy (domain.pool.PoolPolicy); NULL switches a rule off.
    Customers below the unit follow the nearest unit on their owner's path that has one."""

    __tablename__ = "customer_pool_policies"
    unit_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    max_customers_per_rep: Mapped[int | None] = mapped_column(Integer)
    max_claims_per_day: Mapped[int | None] = mapped_column(Integer)
    reclaim_cooldown_days: Mapped[int] = mapped_column(Integer)
    return_after_days_without_follow_up: Mapped[int | None] = mapped_column(Integer)
    return_after_days_without_opportunity: Mapped[int | None] = mapped_column(Integer)
    return_after_days_without_deal: Mapped[int | None] = mapped_column(Integer)
    warning_days_before: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(36))
    updated_at: Mapped[datetime]


class ImportJob(Base):
    """An import: the importer's token claims (not the token) act for him on every row; the
    counters move in each row's own transaction, so they always match the rows."""

    __tablename__ = "customer_import_jobs"
    __table_args__ = (Index("ix_customer_import_jobs_status", "status", "id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # queued | running | done
    format: Mapped[str] = mapped_column(String(8))
    claims: Mapped[dict] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(36), index=True)
    total: Mapped[int] = mapped_column(Integer)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class ImportRow(Base):
    """A staged row of an import. id = "<job id>:<row, zero-padded>" so it orders by row within
    its job (the keyset of the paged errors)."""

    __tablename__ = "customer_import_rows"
    __table_args__ = (Index("ix_customer_import_rows_job_status", "job_id", "status", "id"),)
    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("customer_import_jobs.id"))
    row_number: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # pending | created | error
    customer_id: Mapped[str | None] = mapped_column(String(36))
    error_column: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(1000))
    existing_owner_id: Mapped[str | None] = mapped_column(String(36))


class ShareRequestRow(Base):
    """A rep's request to share a customer (domain/share_requests.py). The customer's current
    owner and unit decide who may answer, so neither is copied here."""

    __tablename__ = "customer_share_requests"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUIDv7: also the paging key
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    requester_id: Mapped[str] = mapped_column(String(36))
    role: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(36))
    decision_note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    __table_args__ = (
        Index("ix_customer_share_requests_requester", "requester_id", "id"),
        Index(
            "uq_customer_share_requests_pending",
            "customer_id",
            "requester_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )
