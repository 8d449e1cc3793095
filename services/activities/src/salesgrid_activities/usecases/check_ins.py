"""Check ins use cases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.activities_events_pb2 import ActivitiesVisitReading
from salesgrid_common.auth import Principal, scope_filter
from salesgrid_common.customer_merges import survivor_of
from salesgrid_common.errors import NotFound
from salesgrid_common.ids import new_id
from salesgrid_common.paging import Page, keyset_page
from salesgrid_common.protos import to_timestamp
from salesgrid_activities.domain import check_ins
from salesgrid_activities.models import CustomerLocation, VisitRow

from salesgrid_activities.usecases._support import ActivitiesUseCasesBase


def visit_domain(row: VisitRow) -> check_ins.Visit:
    """The stored visit as the domain rules see it."""

    def fix(lat: float, lon: float, acc: float, at: datetime, photo: str | None) -> check_ins.LocationFix:
        return check_ins.LocationFix(check_ins.GeoPoint(lat, lon), acc, at, photo)

    def assessment(distance: float | None, flags: list[str]) -> check_ins.LocationAssessment:
        return check_ins.LocationAssessment(distance, tuple(check_ins.FlagReason(f) for f in flags))

    closed = row.out_device_time is not None
    return check_ins.Visit(
        visit_id=row.id,
        rep_id=row.owner_id,
        customer_id=row.customer_id,
        check_in=fix(row.in_latitude, row.in_longitude, row.in_accuracy_m, row.in_device_time, row.in_photo_ref),
        check_in_received_at=row.in_received_at,
        check_in_assessment=assessment(row.in_distance_m, row.in_flags),
        check_out=fix(
            row.out_latitude,
            row.out_longitude,
            row.out_accuracy_m,
            row.out_device_time,  # type: ignore[arg-type]
            row.out_photo_ref,
        )
        if closed
        else None,
        check_out_received_at=row.out_received_at,
        check_out_assessment=assessment(row.out_distance_m, row.out_flags) if closed else None,
    )


def _visit_event(
    row: VisitRow, fix: check_ins.LocationFix, assessment: check_ins.LocationAssessment, duration: timedelta | None
) -> ActivitiesVisitReading:
    return ActivitiesVisitReading(
        visit_id=row.id,
        owner_id=row.owner_id,
        org_path=row.org_path,
        customer_id=row.customer_id,
        latitude=fix.point.latitude,
        longitude=fix.point.longitude,
        accuracy_m=fix.accuracy_m,
        device_time=to_timestamp(fix.device_time),
        has_distance=assessment.distance_m is not None,
        distance_m=assessment.distance_m or 0.0,
        flags=[r.value for r in assessment.reasons],
        duration_seconds=int(duration.total_seconds()) if duration else 0,
    )


class CheckInsMixin(ActivitiesUseCasesBase):
    """ActivitiesUseCases: check ins."""

    def _fix(self, reading: dict[str, Any], now: datetime) -> check_ins.LocationFix:
        return check_ins.validate_fix(now=now, policy=self.check_in_policy, **reading)

    @staticmethod
    async def _customer_point(session: AsyncSession, customer_id: str) -> check_ins.GeoPoint | None:
        location = await session.get(CustomerLocation, customer_id)
        return None if location is None else check_ins.GeoPoint(location.latitude, location.longitude)

    async def check_in(self, principal: Principal, *, customer_id: str, reading: dict[str, Any]) -> VisitRow:
        principal.require("activities:create")
        now = self.clock()
        fix = self._fix(reading, now)
        async with self.sessions() as session, session.begin():
            customer_id = await survivor_of(session, customer_id.strip())  # a merged id: the survivor
            open_rows = (
                await session.scalars(
                    select(VisitRow).where(VisitRow.owner_id == principal.subject_id, VisitRow.open.is_(True))
                )
            ).all()
            policy = (await self._policies(session, principal.org_path)).check_in
            visit = check_ins.check_in(
                visit_id=new_id(),
                rep_id=principal.subject_id,
                customer_id=customer_id,
                fix=fix,
                customer_location=await self._customer_point(session, customer_id.strip()),
                open_visits=[visit_domain(r) for r in open_rows],
                now=now,
                policy=policy,
            )
            assessment = visit.check_in_assessment
            row = VisitRow(
                id=visit.visit_id,
                owner_id=visit.rep_id,
                org_path=principal.org_path,
                customer_id=visit.customer_id,
                open=True,
                flagged=visit.flagged,
                in_latitude=fix.point.latitude,
                in_longitude=fix.point.longitude,
                in_accuracy_m=fix.accuracy_m,
                in_device_time=fix.device_time,
                in_photo_ref=fix.photo_ref,
                in_received_at=now,
                in_distance_m=assessment.distance_m,
                in_flags=[r.value for r in assessment.reasons],
                out_flags=[],
                version=1,
            )
            session.add(row)
            payload = _visit_event(row, fix, assessment, None)
            await self._emit(
                session,
                "check_in.recorded",
                payload,
                aggregate_id=row.id,
                org_path=row.org_path,
                principal=principal,
                now=now,
            )
            if assessment.flagged:
                await self._emit(
                    session,
                    "check_in.flagged",
                    payload,
                    aggregate_id=row.id,
                    org_path=row.org_path,
                    principal=principal,
                    now=now,
                )
            return row

    async def check_out(self, principal: Principal, *, visit_id: str, reading: dict[str, Any]) -> VisitRow:
        principal.require("activities:create")
        now = self.clock()
        fix = self._fix(reading, now)
        async with self.sessions() as session, session.begin():
            row = await session.get(VisitRow, visit_id)
            if row is None or not principal.can_see("activities:read", row.owner_id, row.org_path):
                raise NotFound(f"check-in {visit_id} not found", "visit_id")
            visit = check_ins.check_out(
                visit=visit_domain(row),
                rep_id=principal.subject_id,
                fix=fix,
                customer_location=await self._customer_point(session, row.customer_id),
                now=now,
                policy=(await self._policies(session, row.org_path)).check_in,
            )
            assessment = visit.check_out_assessment
            assert assessment is not None
            row.open = False
            row.flagged = visit.flagged
            row.out_latitude, row.out_longitude = fix.point.latitude, fix.point.longitude
            row.out_accuracy_m, row.out_device_time, row.out_photo_ref = fix.accuracy_m, fix.device_time, fix.photo_ref
            row.out_received_at = now
            row.out_distance_m = assessment.distance_m
            row.out_flags = [r.value for r in assessment.reasons]
            row.version += 1
            await self._emit(
                session,
                "check_out.recorded",
                _visit_event(row, fix, assessment, visit.duration),
                aggregate_id=row.id,
                org_path=row.org_path,
                principal=principal,
                now=now,
            )
            return row

    async def list_visits(
        self,
        principal: Principal,
        *,
        customer_id: str,
        owner_id: str,
        flagged_only: bool,
        page_size: int,
        page_token: str,
    ) -> Page:
        query = select(VisitRow).where(scope_filter(principal, "activities:read", VisitRow.owner_id, VisitRow.org_path))
        if owner_id:
            query = query.where(VisitRow.owner_id == owner_id)
        if flagged_only:
            query = query.where(VisitRow.flagged.is_(True))
        async with self.sessions() as session:
            if customer_id:  # a merged id lists the survivor's
                query = query.where(VisitRow.customer_id == await survivor_of(session, customer_id, writing=False))
            return await keyset_page(session, query, VisitRow.id, page_size, page_token)
