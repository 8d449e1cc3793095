"""Identity's tables (its own database; no other service reads them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from salesgrid_common.db import UtcDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime()}


class OrgUnit(Base):
    __tablename__ = "org_units"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("org_units.id"))
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(40), default="")
    kind: Mapped[str] = mapped_column(String(20))
    path: Mapped[str] = mapped_column(String(1000), index=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    has_ip_allowlist: Mapped[bool] = mapped_column(Boolean, default=False)
    ip_allowlist: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    login: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(200), default="")
    unit_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"), index=True)
    manager_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    password_hash: Mapped[str] = mapped_column(String(200))
    password_changed_at: Mapped[datetime]
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]


class Role(Base):
    __tablename__ = "roles"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    permissions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(36), index=True)  # one login's chain of rotations
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class LoginFailure(Base):
    """Failed attempts by source address, for the per-IP lockout."""

    __tablename__ = "login_failures"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_ip: Mapped[str] = mapped_column(String(64))
    login: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]
    __table_args__ = (Index("ix_login_failures_ip_at", "client_ip", "at"),)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"))
    permissions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime]
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer)  # None: the gateway's default


class AuditEntry(Base):
    """Append-only: no code path updates or deletes these rows."""

    __tablename__ = "audit_events"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUIDv7: also the paging key
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[str] = mapped_column(String(36), index=True)
    actor_ip: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(200), index=True)
    target_type: Mapped[str] = mapped_column(String(100), default="")
    target_id: Mapped[str] = mapped_column(String(36), default="", index=True)
    outcome: Mapped[str] = mapped_column(String(20), default="success")
    detail: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(40), default="identity")
    event_id: Mapped[str | None] = mapped_column(String(36), unique=True)  # for entries from events
