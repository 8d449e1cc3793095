"""The daily-report store: the one mapping between a `daily_reports` row and the domain
DailyReport (`report_from_row` / `report_to_row`), and of its comments; lookups, inserts,
versioned saves and pages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.errors import Conflict
from salesgrid_common.paging import Page, keyset_page
from salesgrid_activities.domain.daily_reports import DailyReport, ReportContent, ReportStatus
from salesgrid_activities.domain.report_comments import ReportComment
from salesgrid_activities.models import DailyReportRow, ReportCommentRow


def report_from_row(row: DailyReportRow) -> DailyReport:
    content = (
        None
        if row.summary is None
        else ReportContent(row.summary, tuple(row.visit_ids), row.tomorrow_plan, row.problems)
    )
    return DailyReport(
        report_id=row.id,
        rep_id=row.owner_id,
        report_date=row.report_date,
        time_zone=row.time_zone,
        status=ReportStatus(row.status),
        content=content,
        submitted_at=row.submitted_at,
        recorded_at=row.recorded_at,
        falsified=row.falsified,
        falsified_by=row.falsified_by,
        falsified_comment=row.falsified_comment,
        falsified_at=row.falsified_at,
        org_path=row.org_path,
        version=row.version,
    )


def report_to_row(report: DailyReport) -> dict[str, Any]:
    content = report.content
    return {
        "id": report.report_id,
        "owner_id": report.rep_id,
        "org_path": report.org_path,
        "report_date": report.report_date,
        "time_zone": report.time_zone,
        "status": report.status.value,
        "summary": content.summary if content else None,
        "visit_ids": list(content.visit_ids) if content else [],
        "tomorrow_plan": content.tomorrow_plan if content else None,
        "problems": content.problems if content else None,
        "submitted_at": report.submitted_at,
        "recorded_at": report.recorded_at,
        "falsified": report.falsified,
        "falsified_by": report.falsified_by,
        "falsified_comment": report.falsified_comment,
        "falsified_at": report.falsified_at,
        "version": report.version,
    }


def reports_from_rows(rows: Iterable[DailyReportRow]) -> list[DailyReport]:
    return [report_from_row(row) for row in rows]


async def get_report(session: AsyncSession, report_id: str) -> DailyReport | None:
    row = await session.get(DailyReportRow, report_id)
    return None if row is None else report_from_row(row)


async def report_of_day(session: AsyncSession, rep_id: str, report_date: date) -> DailyReport | None:
    row = await session.scalar(
        select(DailyReportRow).where(DailyReportRow.owner_id == rep_id, DailyReportRow.report_date == report_date)
    )
    return None if row is None else report_from_row(row)


def add_report(session: AsyncSession, report: DailyReport) -> None:
    """Added to the session; written with the transaction's next flush (insert_report: now)."""
    session.add(DailyReportRow(**report_to_row(report)))


async def insert_report(session: AsyncSession, report: DailyReport) -> None:
    """The report, written now: one report per rep and local date, which the database decides."""
    add_report(session, report)
    try:
        await session.flush()
    except IntegrityError:  # a concurrent submission for the same day won
        raise Conflict("a report for this date already exists", "report_date") from None


async def save_report(session: AsyncSession, before: DailyReport, after: DailyReport) -> DailyReport:
    """Store `after` if the row is still at `before`'s version; the stored report, one version on."""
    old, new = report_to_row(before), report_to_row(after)
    changed = {name: value for name, value in new.items() if value != old[name] and name != "version"}
    result = await session.execute(
        update(DailyReportRow)
        .where(DailyReportRow.id == before.report_id, DailyReportRow.version == before.version)
        .values(**changed, version=DailyReportRow.version + 1)
    )
    if result.rowcount != 1:
        raise Conflict(f"daily report {before.report_id} was modified concurrently", "version")
    return replace(after, version=before.version + 1)


async def report_page(
    session: AsyncSession, query: Select[tuple[DailyReportRow]], page_size: int, page_token: str
) -> Page[DailyReport]:
    found = await keyset_page(session, query, DailyReportRow.id, page_size, page_token)
    return Page(reports_from_rows(found.items), found.next_token)


def comment_from_row(row: ReportCommentRow) -> ReportComment:
    return ReportComment(row.id, row.report_id, row.author_id, row.body, row.created_at)


def add_comment(session: AsyncSession, comment: ReportComment) -> None:
    session.add(
        ReportCommentRow(
            id=comment.id,
            report_id=comment.report_id,
            author_id=comment.author_id,
            body=comment.body,
            created_at=comment.created_at,
        )
    )


async def comments_of(session: AsyncSession, report_id: str) -> list[ReportComment]:
    rows = await session.scalars(
        select(ReportCommentRow).where(ReportCommentRow.report_id == report_id).order_by(ReportCommentRow.id)
    )
    return [comment_from_row(row) for row in rows.all()]


async def falsified(
    session: AsyncSession, principal: Principal, rep_id: str, lower: datetime | None, upper: datetime | None
) -> list[DailyReport]:
    """Reports found falsified in [lower, upper) (open ends: None) within the caller's
    daily_reports:read scope, of one rep when given."""
    stmt = select(DailyReportRow).where(
        DailyReportRow.falsified.is_(True),
        scope_filter(principal, "daily_reports:read", DailyReportRow.owner_id, DailyReportRow.org_path),
    )
    if rep_id:
        stmt = stmt.where(DailyReportRow.owner_id == rep_id)
    if lower:
        stmt = stmt.where(DailyReportRow.falsified_at >= lower)
    if upper:
        stmt = stmt.where(DailyReportRow.falsified_at < upper)
    return reports_from_rows((await session.scalars(stmt)).all())


def _in_scope(principal: Principal, start: date | None, end: date | None) -> Select[tuple[DailyReportRow]]:
    query = select(DailyReportRow).where(
        scope_filter(principal, "daily_reports:read", DailyReportRow.owner_id, DailyReportRow.org_path)
    )
    if start:
        query = query.where(DailyReportRow.report_date >= start)
    if end:
        query = query.where(DailyReportRow.report_date <= end)
    return query


async def page_in_scope(
    session: AsyncSession,
    principal: Principal,
    *,
    owner_id: str,
    start: date | None,
    end: date | None,
    page_size: int,
    page_token: str,
) -> Page[DailyReport]:
    """A page of the reports in the caller's daily_reports:read scope dated in [start, end] (open
    ends: None), of one rep when given."""
    query = _in_scope(principal, start, end)
    if owner_id:
        query = query.where(DailyReportRow.owner_id == owner_id)
    return await report_page(session, query, page_size, page_token)


async def in_scope(
    session: AsyncSession, principal: Principal, start: date | None, end: date | None
) -> list[DailyReport]:
    """Every report in the caller's daily_reports:read scope dated in [start, end], by date."""
    query = _in_scope(principal, start, end).order_by(DailyReportRow.report_date)
    return reports_from_rows((await session.scalars(query)).all())


async def filed_by(session: AsyncSession, report_date: date, rep_ids: Iterable[str]) -> list[str]:
    """Which of these reps have a report (of any status) for the date."""
    query = select(DailyReportRow.owner_id).where(
        DailyReportRow.report_date == report_date, DailyReportRow.owner_id.in_(list(rep_ids))
    )
    return list((await session.scalars(query)).all())
