"""The target store: rows of `targets` (one per metric, period and holder; org paths in the
platform form "/<unit>/…/", "" for a unit's own target's rep) <-> the domain's Target."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_analytics.domain import orgpath
from salesgrid_analytics.domain.metrics import Metric
from salesgrid_analytics.domain.periods import Period, parse_period
from salesgrid_analytics.domain.targets import Holder, Target
from salesgrid_analytics.models import TargetRow as Row
from salesgrid_common.ids import new_id


def from_row(row: Row) -> Target:
    return Target(
        Metric(row.metric), parse_period(row.period), Holder(row.org_path, row.rep_id or None), row.amount, row.currency
    )


def to_row(target: Target, row: Row, actor: str, now: datetime) -> None:
    """Every column but the id from the target, stamped with who set it and when."""
    row.metric, row.period = target.metric.value, target.period.label
    row.org_path, row.rep_id = orgpath.stored(target.holder.org_path), target.holder.rep_id or ""
    row.amount, row.currency = target.amount, target.currency
    row.updated_at, row.updated_by = now, actor


async def save(session: AsyncSession, target: Target, actor: str, now: datetime) -> None:
    """Set the holder's target for the metric and period (replacing the amount it had)."""
    row = await session.scalar(
        select(Row).where(
            Row.metric == target.metric.value,
            Row.period == target.period.label,
            Row.org_path == orgpath.stored(target.holder.org_path),
            Row.rep_id == (target.holder.rep_id or ""),
        )
    )
    if row is None:
        row = Row(id=new_id())
        session.add(row)
    to_row(target, row, actor, now)


async def matching(
    session: AsyncSession, subtree: str, rep_id: str | None, metric: Metric | None, period: Period | None
) -> list[Target]:
    """The targets held under `subtree` (platform form), only `rep_id`'s when given, of one metric
    and one period when given; by metric, holder and period, in one query."""
    query = select(Row)
    if subtree != orgpath.ROOT:
        query = query.where(Row.org_path.startswith(subtree, autoescape=True))
    if rep_id is not None:
        query = query.where(Row.rep_id == rep_id)
    if metric is not None:
        query = query.where(Row.metric == metric.value)
    if period is not None:
        query = query.where(Row.period == period.label)
    query = query.order_by(Row.metric, Row.org_path, Row.rep_id, Row.period)
    return [from_row(row) for row in await session.scalars(query)]


async def of_holder(
    session: AsyncSession, metric: Metric, currency: str, subtree: str, rep_id: str | None
) -> list[Target]:
    """Every period's target of one metric in one currency held by `rep_id` (wherever he works)
    or, without one, by the unit `subtree` itself (platform form), in one query."""
    holder = Row.rep_id == rep_id if rep_id else (Row.org_path == subtree) & (Row.rep_id == "")
    query = select(Row).where(Row.metric == metric.value, Row.currency == currency, holder)
    return [from_row(row) for row in await session.scalars(query)]
