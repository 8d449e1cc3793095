"""Check ins use cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from salesgrid_common.auth.principal import Principal
from salesgrid_common.customer_merges import survivor_of
from salesgrid_common.errors import NotFound
from salesgrid_common.ids import new_id
from salesgrid_common.paging import Page
from salesgrid_activities.domain import check_ins
from salesgrid_activities.stores import visits as visit_store
from salesgrid_activities.stores.visits import get_visit, insert_visit, open_visits_of, save_visit
from salesgrid_activities.visit_events import check_in_reading, check_out_reading

from salesgrid_activities.usecases._support import ActivitiesUseCasesBase


class CheckInsMixin(ActivitiesUseCasesBase):
    """ActivitiesUseCases: check ins."""

    def _fix(self, reading: dict[str, Any], now: datetime) -> check_ins.LocationFix:
        return check_ins.validate_fix(now=now, policy=self.check_in_policy, **reading)

    async def check_in(self, principal: Principal, *, customer_id: str, reading: dict[str, Any]) -> check_ins.Visit:
        principal.require("activities:create")
        now = self.clock()
        fix = self._fix(reading, now)
        async with self.sessions() as session, session.begin():
            customer_id = await survivor_of(session, customer_id.strip())  # a merged id: the survivor
            policy = (await self._policies(session, principal.org_path)).check_in
            visit = check_ins.check_in(
                visit_id=new_id(),
                rep_id=principal.subject_id,
                customer_id=customer_id,
                fix=fix,
                customer_location=await visit_store.customer_point(session, customer_id.strip()),
                open_visits=await open_visits_of(session, principal.subject_id),
                now=now,
                policy=policy,
            )
            visit = replace(visit, org_path=principal.org_path)
            insert_visit(session, visit)
            payload = check_in_reading(visit)
            await self._emit(
                session,
                "check_in.recorded",
                payload,
                aggregate_id=visit.visit_id,
                org_path=visit.org_path,
                principal=principal,
                now=now,
            )
            if visit.check_in_assessment.flagged:
                await self._emit(
                    session,
                    "check_in.flagged",
                    payload,
                    aggregate_id=visit.visit_id,
                    org_path=visit.org_path,
                    principal=principal,
                    now=now,
                )
            return visit

    async def check_out(self, principal: Principal, *, visit_id: str, reading: dict[str, Any]) -> check_ins.Visit:
        principal.require("activities:create")
        now = self.clock()
        fix = self._fix(reading, now)
        async with self.sessions() as session, session.begin():
            current = await get_visit(session, visit_id)
            if current is None or not principal.can_see("activities:read", current.rep_id, current.org_path):
                raise NotFound(f"check-in {visit_id} not found", "visit_id")
            visit = check_ins.check_out(
                visit=current,
                rep_id=principal.subject_id,
                fix=fix,
                customer_location=await visit_store.customer_point(session, current.customer_id),
                now=now,
                policy=(await self._policies(session, current.org_path)).check_in,
            )
            visit = await save_visit(session, current, visit)
            await self._emit(
                session,
                "check_out.recorded",
                check_out_reading(visit),
                aggregate_id=visit.visit_id,
                org_path=visit.org_path,
                principal=principal,
                now=now,
            )
            return visit

    async def list_visits(
        self,
        principal: Principal,
        *,
        customer_id: str,
        owner_id: str,
        flagged_only: bool,
        page_size: int,
        page_token: str,
    ) -> Page[check_ins.Visit]:
        async with self.sessions() as session:
            return await visit_store.page_in_scope(
                session,
                principal,
                # a merged id lists the survivor's
                customer_id=await survivor_of(session, customer_id, writing=False) if customer_id else "",
                owner_id=owner_id,
                flagged_only=flagged_only,
                page_size=page_size,
                page_token=page_token,
            )
