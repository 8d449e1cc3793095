"""The analytics service's own tables (nobody else reads them)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from salesgrid_common.db import UtcDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime()}


class StoredFact(Base):
    """One fact per consumed event (keyed by its event id, so replays insert nothing twice)."""

    __tablename__ = "facts"
    __table_args__ = (Index("ix_facts_org_path", "org_path"), Index("ix_facts_owner_id", "owner_id"))

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(50), index=True)
    occurred_at: Mapped[datetime]
    owner_id: Mapped[str] = mapped_column(String(36))
    org_path: Mapped[str] = mapped_column(String(1000))
    data: Mapped[str] = mapped_column(Text)  # JSON of the kind's own fields


class TargetRow(Base):
    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("metric", "period", "org_path", "rep_id", name="uq_targets_holder_period"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    metric: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(10))
    org_path: Mapped[str] = mapped_column(String(1000), index=True)
    rep_id: Mapped[str] = mapped_column(String(36))  # "" for the unit's own target
    amount: Mapped[Decimal] = mapped_column(Numeric(20, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(36))


class StageModelRow(Base):
    """A stage model as pipeline last published it (`stage_model.published`); newest version kept."""

    __tablename__ = "stage_models"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[str] = mapped_column(Text)  # JSON: name, entry stage, ordered stages
    updated_at: Mapped[datetime]
