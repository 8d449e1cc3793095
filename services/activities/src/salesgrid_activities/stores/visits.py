"""The visit store: the one mapping between a `visits` row and the domain Visit (`visit_from_row`
/ `visit_to_row`), a rep's open visits, inserts, versioned saves and scoped pages; and the
reference point of the customer a visit is checked against (`customer_locations`, kept from the
customers' events)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.errors import Conflict
from salesgrid_common.paging import Page, keyset_page
from salesgrid_activities.domain.check_ins import FlagReason, GeoPoint, LocationAssessment, LocationFix, Visit
from salesgrid_activities.models import CustomerLocation, VisitRow


def visit_from_row(row: VisitRow) -> Visit:
    def fix(lat: float, lon: float, acc: float, at: datetime, photo: str | None) -> LocationFix:
        return LocationFix(GeoPoint(lat, lon), acc, at, photo)

    def assessment(distance: float | None, flags: list[str]) -> LocationAssessment:
        return LocationAssessment(distance, tuple(FlagReason(f) for f in flags))

    closed = row.out_device_time is not None
    return Visit(
        visit_id=row.id,
        rep_id=row.owner_id,
        customer_id=row.customer_id,
        check_in=fix(row.in_latitude, row.in_longitude, row.in_accuracy_m, row.in_device_time, row.in_photo_ref),
        check_in_received_at=row.in_received_at,
        check_in_assessment=assessment(row.in_distance_m, row.in_flags),
        check_out=fix(
            row.out_latitude,  # type: ignore[arg-type]
            row.out_longitude,  # type: ignore[arg-type]
            row.out_accuracy_m,  # type: ignore[arg-type]
            row.out_device_time,  # type: ignore[arg-type]
            row.out_photo_ref,
        )
        if closed
        else None,
        check_out_received_at=row.out_received_at,
        check_out_assessment=assessment(row.out_distance_m, row.out_flags) if closed else None,
        org_path=row.org_path,
        version=row.version,
    )


def visit_to_row(visit: Visit) -> dict[str, Any]:
    out, out_assessment = visit.check_out, visit.check_out_assessment
    return {
        "id": visit.visit_id,
        "owner_id": visit.rep_id,
        "org_path": visit.org_path,
        "customer_id": visit.customer_id,
        "open": visit.is_open,
        "flagged": visit.flagged,
        "in_latitude": visit.check_in.point.latitude,
        "in_longitude": visit.check_in.point.longitude,
        "in_accuracy_m": visit.check_in.accuracy_m,
        "in_device_time": visit.check_in.device_time,
        "in_photo_ref": visit.check_in.photo_ref,
        "in_received_at": visit.check_in_received_at,
        "in_distance_m": visit.check_in_assessment.distance_m,
        "in_flags": [r.value for r in visit.check_in_assessment.reasons],
        "out_latitude": out.point.latitude if out else None,
        "out_longitude": out.point.longitude if out else None,
        "out_accuracy_m": out.accuracy_m if out else None,
        "out_device_time": out.device_time if out else None,
        "out_photo_ref": out.photo_ref if out else None,
        "out_received_at": visit.check_out_received_at,
        "out_distance_m": out_assessment.distance_m if out_assessment else None,
        "out_flags": [r.value for r in out_assessment.reasons] if out_assessment else [],
        "version": visit.version,
    }


async def get_visit(session: AsyncSession, visit_id: str) -> Visit | None:
    row = await session.get(VisitRow, visit_id)
    return None if row is None else visit_from_row(row)


async def open_visits_of(session: AsyncSession, rep_id: str) -> list[Visit]:
    rows = await session.scalars(select(VisitRow).where(VisitRow.owner_id == rep_id, VisitRow.open.is_(True)))
    return [visit_from_row(row) for row in rows.all()]


def insert_visit(session: AsyncSession, visit: Visit) -> None:
    """Added to the session; written with the transaction's next flush."""
    session.add(VisitRow(**visit_to_row(visit)))


async def save_visit(session: AsyncSession, before: Visit, after: Visit) -> Visit:
    """Store `after` if the row is still at `before`'s version; the stored visit, one version on."""
    old, new = visit_to_row(before), visit_to_row(after)
    changed = {name: value for name, value in new.items() if value != old[name] and name != "version"}
    result = await session.execute(
        update(VisitRow)
        .where(VisitRow.id == before.visit_id, VisitRow.version == before.version)
        .values(**changed, version=VisitRow.version + 1)
    )
    if result.rowcount != 1:
        raise Conflict(f"visit {before.visit_id} was modified concurrently", "version")
    return replace(after, version=before.version + 1)


async def visit_page(
    session: AsyncSession, query: Select[tuple[VisitRow]], page_size: int, page_token: str
) -> Page[Visit]:
    found = await keyset_page(session, query, VisitRow.id, page_size, page_token)
    return Page([visit_from_row(row) for row in found.items], found.next_token)


async def page_in_scope(
    session: AsyncSession,
    principal: Principal,
    *,
    customer_id: str,
    owner_id: str,
    flagged_only: bool,
    page_size: int,
    page_token: str,
) -> Page[Visit]:
    """A page of the visits in the caller's activities:read scope, filtered by the values given."""
    query = select(VisitRow).where(scope_filter(principal, "activities:read", VisitRow.owner_id, VisitRow.org_path))
    if owner_id:
        query = query.where(VisitRow.owner_id == owner_id)
    if flagged_only:
        query = query.where(VisitRow.flagged.is_(True))
    if customer_id:
        query = query.where(VisitRow.customer_id == customer_id)
    return await visit_page(session, query, page_size, page_token)


async def customer_point(session: AsyncSession, customer_id: str) -> GeoPoint | None:
    """Where the customer is, as last heard from customers; None when not known."""
    location = await session.get(CustomerLocation, customer_id)
    return None if location is None else GeoPoint(location.latitude, location.longitude)
