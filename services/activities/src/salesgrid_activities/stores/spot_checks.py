"""The spot check store: the one mapping between a `spot_checks` row and the domain SpotCheck
(`spot_check_from_row` / `spot_check_to_row`), its insert, its locked load and versioned save, and
pages of the checks a caller may read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.errors import Conflict, NotFound
from salesgrid_common.paging import Page, keyset_page
from salesgrid_activities.domain.spot_checks import SpotCheck, Verdict
from salesgrid_activities.models import SpotCheckRoundRow as RoundRow
from salesgrid_activities.models import SpotCheckRow as Row


def spot_check_from_row(row: Row) -> SpotCheck:
    return SpotCheck(
        id=row.id,
        follow_up_id=row.follow_up_id,
        week=row.week,
        owner_id=row.owner_id,
        org_path=row.org_path,
        verifier_id=row.verifier_id,
        verdict=Verdict(row.verdict),
        assigned_at=row.assigned_at,
        note=row.note,
        fine=row.fine,
        currency=row.currency or "",
        verified_at=row.verified_at,
        version=row.version,
    )


def spot_check_to_row(check: SpotCheck) -> dict[str, Any]:
    return {
        "id": check.id,
        "follow_up_id": check.follow_up_id,
        "week": check.week,
        "owner_id": check.owner_id,
        "org_path": check.org_path,
        "verifier_id": check.verifier_id,
        "verdict": check.verdict.value,
        "note": check.note,
        "fine": check.fine,
        "currency": check.currency or None,
        "assigned_at": check.assigned_at,
        "verified_at": check.verified_at,
        "version": check.version,
    }


def insert(session: AsyncSession, check: SpotCheck) -> None:
    session.add(Row(**spot_check_to_row(check)))


async def load_for_update(session: AsyncSession, spot_check_id: str) -> SpotCheck | None:
    """The check, its row locked for the caller's transaction (None when there is none)."""
    row = await session.scalar(select(Row).where(Row.id == spot_check_id).with_for_update())
    return None if row is None else spot_check_from_row(row)


def require_version(check: SpotCheck, expected_version: int) -> None:
    """The version the caller read (0: any) must still be the check's."""
    if expected_version and expected_version != check.version:
        raise Conflict.stale_version(
            f"the spot check is at version {check.version}, not {expected_version}",
            "version",
            current=check.version,
            sent=expected_version,
        )


async def save(session: AsyncSession, check: SpotCheck) -> SpotCheck:
    """The check (loaded in this transaction, locked) as its next version."""
    row = await session.get(Row, check.id)  # the identity map's row once loaded
    if row is None:
        raise NotFound(f"spot check {check.id!r} not found", "id")
    require_version(check, row.version)
    values = spot_check_to_row(check) | {"version": row.version + 1}
    for name, value in values.items():
        setattr(row, name, value)
    return spot_check_from_row(row)


def _visible(principal: Principal) -> ColumnElement[bool]:
    """The checks a caller may read: those assigned to him, and his reps' (activities:read)."""
    mine = Row.verifier_id == principal.subject_id
    if principal.scope_for("activities:read") is None:
        return mine
    return mine | scope_filter(principal, "activities:read", Row.owner_id, Row.org_path)


async def page(
    session: AsyncSession,
    principal: Principal,
    *,
    assigned_to_me: bool,
    verdict: str,
    week: str,
    rep_id: str,
    page_size: int,
    page_token: str,
) -> Page[SpotCheck]:
    """One page in one query (blank filters are ignored)."""
    query = select(Row).where(Row.verifier_id == principal.subject_id if assigned_to_me else _visible(principal))
    for column, value in ((Row.verdict, verdict), (Row.week, week), (Row.owner_id, rep_id)):
        if value:
            query = query.where(column == value)
    found = await keyset_page(session, query, Row.id, page_size, page_token)
    return Page([spot_check_from_row(row) for row in found.items], found.next_token)


async def falsified(
    session: AsyncSession, principal: Principal, rep_id: str, lower: datetime | None, upper: datetime | None
) -> list[SpotCheck]:
    """Checks that found a follow-up false, verified in [lower, upper) (open ends: None), within
    the caller's activities:read scope, of one rep when given."""
    stmt = select(Row).where(
        Row.verdict == Verdict.FALSE.value, scope_filter(principal, "activities:read", Row.owner_id, Row.org_path)
    )
    if rep_id:
        stmt = stmt.where(Row.owner_id == rep_id)
    if lower:
        stmt = stmt.where(Row.verified_at >= lower)
    if upper:
        stmt = stmt.where(Row.verified_at < upper)
    return [spot_check_from_row(row) for row in (await session.scalars(stmt)).all()]


async def round_drawn(session: AsyncSession, rep_id: str, week: str) -> bool:
    """Whether the rep's sample of that week has been drawn."""
    return await session.get(RoundRow, (rep_id, week)) is not None


def add_round(
    session: AsyncSession, *, rep_id: str, week: str, verifier_id: str, sampled: int, population: int, now: datetime
) -> None:
    """The record of a week's draw (its key is unique: a second replica's draw fails on insert)."""
    session.add(
        RoundRow(
            rep_id=rep_id, week=week, verifier_id=verifier_id, sampled=sampled, population=population, drawn_at=now
        )
    )
