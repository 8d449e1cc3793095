"""The pipeline service's own tables (nobody else reads them).

Money amounts are stored as decimal strings next to their currency: exact on SQLite as well
as PostgreSQL (SQLite's NUMERIC affinity would round through a float)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from salesgrid_common.db import UtcDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime()}


class Opportunity(Base):
    __tablename__ = "opportunities"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))  # normalised name: unique per customer
    owner_id: Mapped[str] = mapped_column(String(36), index=True)
    org_path: Mapped[str] = mapped_column(String(1000), index=True)
    amount: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    expected_close_date: Mapped[date] = mapped_column(Date)
    competitors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    products: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    stage_model: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(64))
    stage_entered_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10))  # open | won | lost
    lost_reason: Mapped[str] = mapped_column(Text, default="")
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sla_level_notified: Mapped[int] = mapped_column(Integer, default=0)  # for the current stage entry
    commit: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )  # the rep's forecast commit flag
    channel: Mapped[str] = mapped_column(String(16), default="direct", server_default="direct")  # 销售渠道
    partner_id: Mapped[str] = mapped_column(String(64), default="", server_default="", index=True)
    # Custom field values by key (salesgrid_common.custom_fields; filtered through its value index).
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, server_default="{}")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (
        UniqueConstraint("customer_id", "name_key", name="uq_opportunities_customer_name"),
        Index("ix_opportunities_status_stage", "status", "stage_entered_at"),
    )


class StageHistory(Base):
    __tablename__ = "stage_history"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    opportunity_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    from_stage: Mapped[str] = mapped_column(String(64))
    to_stage: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(36))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # facts supplied with this move
    reason: Mapped[str] = mapped_column(Text, default="")
    skipped_stages: Mapped[list[str]] = mapped_column(JSON, default=list)


class GateViolation(Base):
    """A rejected advance (虚假推进 attempt), kept for managers to review per rep."""

    __tablename__ = "gate_violations"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    opportunity_id: Mapped[str] = mapped_column(String(36), index=True)
    actor_id: Mapped[str] = mapped_column(String(36), index=True)
    owner_id: Mapped[str] = mapped_column(String(36))
    org_path: Mapped[str] = mapped_column(String(1000), index=True)  # the opportunity's, for scope
    at: Mapped[datetime]
    from_stage: Mapped[str] = mapped_column(String(64))
    target_stage: Mapped[str] = mapped_column(String(64))
    missing_facts: Mapped[list[str]] = mapped_column(JSON, default=list)
    invalid_facts: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    unskippable_stages: Mapped[list[str]] = mapped_column(JSON, default=list)


class Lead(Base):
    __tablename__ = "leads"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    company_name: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    region: Mapped[str] = mapped_column(String(200), default="")
    industry: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(200), default="")
    estimated_amount: Mapped[str | None] = mapped_column(String(40))
    estimated_currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10), index=True)
    owner_id: Mapped[str] = mapped_column(String(36), default="", index=True)  # "" while in the pool
    org_path: Mapped[str] = mapped_column(String(1000), index=True)  # owner's unit, or the pool's unit
    assigned_at: Mapped[datetime | None]
    last_followed_up_at: Mapped[datetime | None]
    closed_reason: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer, default=1)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, server_default="{}")


class Quote(Base):
    """One version of an opportunity's quote; lines carry the catalogue's name and price as they
    were when quoted (a later price change does not alter an issued quote)."""

    __tablename__ = "quotes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    opportunity_id: Mapped[str] = mapped_column(String(36), index=True)
    owner_id: Mapped[str] = mapped_column(String(36))  # the opportunity's, for scope
    org_path: Mapped[str] = mapped_column(String(1000), index=True)
    version: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    subtotal: Mapped[str] = mapped_column(String(40))
    discount_total: Mapped[str] = mapped_column(String(40))
    total: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))  # current | superseded | accepted
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(36))
    accepted_at: Mapped[datetime | None]
    accepted_by: Mapped[str] = mapped_column(String(36), default="")
    contract_id: Mapped[str] = mapped_column(String(36), default="", server_default="")  # draft started on acceptance
    # special-discount approval (特批折扣): the deepest line discount in per cent, and the approval's
    # state ("" when within the unit's threshold | pending | approved | rejected)
    discount_rate: Mapped[str] = mapped_column(String(12), default="0", server_default="0")
    discount_approval: Mapped[str] = mapped_column(String(10), default="", server_default="")
    approval_started_at: Mapped[datetime | None]
    __table_args__ = (UniqueConstraint("opportunity_id", "version", name="uq_quotes_opportunity_version"),)


class LeadAssignmentRule(Base):
    """The lead assignment rule table, in match order (first match wins)."""

    __tablename__ = "lead_assignment_rules"
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(200), default="")
    industry: Mapped[str] = mapped_column(String(200), default="")
    rep_id: Mapped[str] = mapped_column(String(36), default="")
    team_id: Mapped[str] = mapped_column(String(36), default="")


class RoundRobinState(Base):
    """Last rep of each team given a lead by round robin; updated in the lead's transaction."""

    __tablename__ = "lead_round_robin"
    team_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    last_assignee: Mapped[str] = mapped_column(String(36))


class StageModelRow(Base):
    """An administered stage model (one per business line); the built-in default applies until
    a row with its code exists."""

    __tablename__ = "stage_models"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(36))


class StageModelPublication(Base):
    """The last definition of each stage model published as `stage_model.published` (its digest),
    so a model is sent once per change, the built-in default included."""

    __tablename__ = "stage_model_publications"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime]


class QuoteApprovalStep(Base):
    """One step of a quote's special-discount approval, taken in turn up the submitter's chain."""

    __tablename__ = "quote_approval_steps"
    quote_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    step_order: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(40))
    approver_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(10))  # pending | approved | rejected | cancelled
    activated_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)
    reminded_at: Mapped[datetime | None]  # the approver's last reminder


class DiscountPolicyRow(Base):
    """An org unit's own special-discount thresholds (per cent), inherited down the org tree."""

    __tablename__ = "discount_policies"
    org_unit_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    threshold_percent: Mapped[str] = mapped_column(String(12))
    director_above_percent: Mapped[str] = mapped_column(String(12))
    updated_by: Mapped[str] = mapped_column(String(36))
    updated_at: Mapped[datetime]
