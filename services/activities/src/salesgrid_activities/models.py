"""The activities service's own tables (nobody else reads them)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from salesgrid_common.db import DecimalText, UtcDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime()}


class FollowUpRow(Base):
    __tablename__ = "follow_ups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUIDv7: also the paging key
    owner_id: Mapped[str] = mapped_column(String(36), index=True)
    org_path: Mapped[str] = mapped_column(String(1000), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime]
    notes: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[str | None] = mapped_column(String(128), index=True)
    contact_id: Mapped[str | None] = mapped_column(String(128))
    opportunity_id: Mapped[str | None] = mapped_column(String(128))
    lead_id: Mapped[str | None] = mapped_column(String(128), index=True)
    next_follow_up_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)


class CustomerLocation(Base):
    """Reference coordinates of customers, kept from customers.customer.created/updated events."""

    __tablename__ = "customer_locations"
    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime]


class VisitRow(Base):
    __tablename__ = "visits"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(36))
    org_path: Mapped[str] = mapped_column(String(1000), index=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    open: Mapped[bool] = mapped_column(Boolean)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    in_latitude: Mapped[float] = mapped_column(Float)
    in_longitude: Mapped[float] = mapped_column(Float)
    in_accuracy_m: Mapped[float] = mapped_column(Float)
    in_device_time: Mapped[datetime]
    in_photo_ref: Mapped[str | None] = mapped_column(String(512))
    in_received_at: Mapped[datetime]
    in_distance_m: Mapped[float | None] = mapped_column(Float)
    in_flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    out_latitude: Mapped[float | None] = mapped_column(Float)
    out_longitude: Mapped[float | None] = mapped_column(Float)
    out_accuracy_m: Mapped[float | None] = mapped_column(Float)
    out_device_time: Mapped[datetime | None]
    out_photo_ref: Mapped[str | None] = mapped_column(String(512))
    out_received_at: Mapped[datetime | None]
    out_distance_m: Mapped[float | None] = mapped_column(Float)
    out_flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __table_args__ = (Index("ix_visits_owner_open", "owner_id", "open"),)


class TaskRow(Base):
    __tablename__ = "tasks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    creator_id: Mapped[str] = mapped_column(String(36), index=True)
    owner_id: Mapped[str] = mapped_column(String(36), index=True)  # the assignee
    org_path: Mapped[str] = mapped_column(String(1000), index=True)  # the assignee's
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    start_at: Mapped[datetime | None]
    end_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    reminder_minutes: Mapped[list[int]] = mapped_column(JSON, default=list)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(30), index=True)
    created_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    rejected_at: Mapped[datetime | None]
    reject_reason: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)


class DailyReportRow(Base):
    __tablename__ = "daily_reports"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(36))
    org_path: Mapped[str] = mapped_column(String(1000), index=True)
    report_date: Mapped[date] = mapped_column(Date, index=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str | None] = mapped_column(Text)
    visit_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    tomorrow_plan: Mapped[str | None] = mapped_column(Text)
    problems: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None]
    recorded_at: Mapped[datetime]
    falsified: Mapped[bool] = mapped_column(Boolean, default=False)
    falsified_by: Mapped[str | None] = mapped_column(String(36))
    falsified_comment: Mapped[str | None] = mapped_column(Text)
    falsified_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    # One report (or missing record) per rep per local date, enforced by the database too.
    __table_args__ = (UniqueConstraint("owner_id", "report_date", name="uq_daily_reports_owner_date"),)


class ReportDayMark(Base):
    """Per time zone, the last local date the missing-report scheduler has closed."""

    __tablename__ = "report_day_marks"
    time_zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_closed_date: Mapped[date] = mapped_column(Date)


class UnitPolicyRow(Base):
    """One org unit's own overrides (NULL: inherited); the unit's path comes from directory_units."""

    __tablename__ = "unit_policies"
    unit_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    check_in_radius_m: Mapped[float | None] = mapped_column(Float)
    report_deadline: Mapped[str | None] = mapped_column(String(5))  # HH:MM
    late_fine: Mapped[Decimal | None] = mapped_column(DecimalText())
    missing_fine: Mapped[Decimal | None] = mapped_column(DecimalText())
    falsified_fine: Mapped[Decimal | None] = mapped_column(DecimalText())
    currency: Mapped[str | None] = mapped_column(String(3))
    updated_by: Mapped[str] = mapped_column(String(36))
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)


class ReportCommentRow(Base):
    __tablename__ = "daily_report_comments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    report_id: Mapped[str] = mapped_column(String(36), index=True)
    author_id: Mapped[str] = mapped_column(String(36))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class SchedulerMark(Base):
    """How far a time-driven job (reminders, overdue tasks) has fired: the next run covers (last_run_at, now]."""

    __tablename__ = "scheduler_marks"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_run_at: Mapped[datetime]


class InboxItemRow(Base):
    """One notice for one person (domain/inbox.py), fed by events. `owner_id` is the recipient
    and `org_path` his unit's path, so scope filters and unit moves treat it like any record."""

    __tablename__ = "inbox_items"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(36))
    org_path: Mapped[str] = mapped_column(String(1000), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))  # English, the fallback for clients without templates
    params: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # domain/inbox.py PARAMS[kind]
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(128))
    subject_owner_id: Mapped[str] = mapped_column(String(36), default="")
    event_id: Mapped[str] = mapped_column(String(36))
    occurred_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    __table_args__ = (
        UniqueConstraint("event_id", "owner_id", name="uq_inbox_items_event_recipient"),
        Index("ix_inbox_items_owner_occurred", "owner_id", "occurred_at", "id"),
        Index("ix_inbox_items_owner_read", "owner_id", "read_at"),
    )


class AnnouncementRow(Base):
    """An announcement to an org unit and its subtree (domain/announcements.py)."""

    __tablename__ = "announcements"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    publisher_id: Mapped[str] = mapped_column(String(36), index=True)
    unit_id: Mapped[str] = mapped_column(String(36))
    org_path: Mapped[str] = mapped_column(String(1000), index=True)  # the target unit's path
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    recipients: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime]


class AnnouncementReceiptRow(Base):
    """One recipient of an announcement and when he read it (his read receipt)."""

    __tablename__ = "announcement_receipts"
    announcement_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    read_at: Mapped[datetime | None]
    __table_args__ = (Index("ix_announcement_receipts_user", "user_id", "announcement_id"),)


class SpotCheckRoundRow(Base):
    """A rep's week whose sample has been drawn (so it is drawn once, even when it was empty)."""

    __tablename__ = "spot_check_rounds"
    rep_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    week: Mapped[str] = mapped_column(String(8), primary_key=True)  # ISO week, e.g. 2026-W10
    verifier_id: Mapped[str] = mapped_column(String(36))
    sampled: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)
    drawn_at: Mapped[datetime]


class SpotCheckRow(Base):
    """One sampled follow-up, its verifier and his finding; a false one carries its fine."""

    __tablename__ = "spot_checks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    follow_up_id: Mapped[str] = mapped_column(String(36), unique=True)
    week: Mapped[str] = mapped_column(String(8))
    owner_id: Mapped[str] = mapped_column(String(36), index=True)  # the rep
    org_path: Mapped[str] = mapped_column(String(1000), index=True)  # the rep's, when drawn
    verifier_id: Mapped[str] = mapped_column(String(36), index=True)
    verdict: Mapped[str] = mapped_column(String(10), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    fine: Mapped[Decimal | None] = mapped_column(DecimalText())
    currency: Mapped[str | None] = mapped_column(String(3))
    assigned_at: Mapped[datetime]
    verified_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
