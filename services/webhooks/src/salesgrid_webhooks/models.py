"""The webhooks service's own tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from salesgrid_common.db import UtcDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime()}


class SubscriptionRow(Base):
    __tablename__ = "webhook_subscriptions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(36), index=True)
    owner_kind: Mapped[str] = mapped_column(String(10))
    # The owner's unit path and permissions (scope snapshot) when created or last updated.
    org_path: Mapped[str] = mapped_column(String(1000))
    permissions: Mapped[dict[str, str]] = mapped_column(JSON)
    owner_roles: Mapped[list[str]] = mapped_column(JSON)
    # An API key owner's creator (from the key's token): told when the subscription is disabled.
    responsible_id: Mapped[str] = mapped_column(String(36), default="", server_default="")
    # An API key owner's own expiry (from its token): deliveries stop then.
    owner_expires_at: Mapped[datetime | None]
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    event_types: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(400))  # sealed (secretbox)
    previous_secret: Mapped[str | None] = mapped_column(String(400))
    previous_secret_expires_at: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(Boolean, index=True)
    disabled_reason: Mapped[str] = mapped_column(String(500), default="")
    failing_since: Mapped[datetime | None]
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    # Bumped by every change of what a reader sees, the service's own disables included (optimistic
    # concurrency: a save at a stale version is refused); not by failing_since, the endpoint's health.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class DeliveryRow(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # webhook-id; UUIDv7 orders the log
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # the exact JSON sent on every attempt
    status: Mapped[str] = mapped_column(String(10))  # pending | succeeded | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int] = mapped_column(Integer, default=0)
    last_latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class AttemptRow(Base):
    __tablename__ = "webhook_attempts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    status_code: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(String(500), default="")
