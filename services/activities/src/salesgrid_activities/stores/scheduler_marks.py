"""The scheduler's marks: how far a time-driven job (reminders, overdue tasks) has fired
(`scheduler_marks`), and per time zone the last local date the missing-report run has closed
(`report_day_marks`). Each moves in the transaction of what the run wrote, so runs are idempotent."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.db import conflict_insert, dialect_name
from salesgrid_activities.models import ReportDayMark, SchedulerMark


async def _first_mark(
    session: AsyncSession, model: type[SchedulerMark] | type[ReportDayMark], **values: object
) -> None:
    """A mark seen for the first time, unless another run (the scheduler's loop, another replica)
    made it first: both saw none, and the later insert must not fail its run (PostgreSQL; SQLite's
    one writer at a time lets the later run see the mark). A mark's table has no key but its own."""
    await session.execute(
        conflict_insert(dialect_name(session))(model.__table__).values(**values).on_conflict_do_nothing()
    )


async def advance(session: AsyncSession, name: str, now: datetime) -> datetime | None:
    """The previous mark, moved to now in this transaction; None on first sight (nothing is
    fired for times before the service knew them) or when another replica moved it first."""
    last = await session.scalar(select(SchedulerMark.last_run_at).where(SchedulerMark.name == name))
    if last is None:
        await _first_mark(session, SchedulerMark, name=name, last_run_at=now)
        return None
    if last >= now:
        return None
    moved = await session.execute(
        update(SchedulerMark)
        .where(SchedulerMark.name == name, SchedulerMark.last_run_at == last)
        .values(last_run_at=now)
    )
    return last if moved.rowcount == 1 else None


async def last_closed_day(session: AsyncSession, zone_name: str) -> date | None:
    """The last local date closed in this time zone; None for a zone not seen before."""
    mark = await session.get(ReportDayMark, zone_name)
    return None if mark is None else mark.last_closed_date


async def start_report_days(session: AsyncSession, zone_name: str, last_closed: date) -> None:
    """A zone seen for the first time: its days count from after `last_closed` (unless another run
    started them first)."""
    await _first_mark(session, ReportDayMark, time_zone=zone_name, last_closed_date=last_closed)


async def close_report_days(session: AsyncSession, zone_name: str, through: date) -> None:
    await session.execute(
        update(ReportDayMark).where(ReportDayMark.time_zone == zone_name).values(last_closed_date=through)
    )
