"""Follow ups use cases."""

from __future__ import annotations

from datetime import datetime

from salesgrid_common.auth.principal import Principal
from salesgrid_common.customer_merges import survivor_of
from salesgrid_common import localtime
from salesgrid_common.ids import new_id
from salesgrid_common.paging import Page
from salesgrid_activities.domain import follow_ups
from salesgrid_activities.follow_up_events import follow_up_logged
from salesgrid_activities.stores import follow_ups as follow_up_store

from salesgrid_activities.usecases._support import ActivitiesUseCasesBase, parse_date


class FollowUpsMixin(ActivitiesUseCasesBase):
    """ActivitiesUseCases: follow ups."""

    async def log_follow_up(
        self,
        principal: Principal,
        *,
        kind: str,
        occurred_at: datetime | None,
        notes: str,
        customer_id: str,
        contact_id: str,
        opportunity_id: str,
        lead_id: str,
        next_follow_up_on: str,
    ) -> follow_ups.FollowUp:
        principal.require("activities:create")
        now = self.clock()
        next_on = parse_date(next_follow_up_on, "next_follow_up_on")
        async with self.sessions() as session, session.begin():
            # The local date matters only for next_follow_up_on (one query saved on most writes);
            # a user not yet replicated counts as UTC.
            zone = localtime.UTC_CALENDAR.tz
            if next_on is not None:
                zone = await self._my_zone(session, principal) or zone
            customer_id = await survivor_of(session, customer_id)  # a merged customer's id: its survivor
            checked = follow_ups.validate_follow_up(
                kind=kind,
                occurred_at=occurred_at,
                notes=notes,  # type: ignore[arg-type]
                customer_id=customer_id or None,
                contact_id=contact_id or None,
                opportunity_id=opportunity_id or None,
                lead_id=lead_id or None,
                next_follow_up_on=next_on,
                tz=zone,
                now=now,
            )
            follow_up = checked.logged(id=new_id(), owner_id=principal.subject_id, org_path=principal.org_path, now=now)
            await follow_up_store.insert_follow_up(session, follow_up)
            await self._emit(
                session,
                "follow_up.logged",
                follow_up_logged(follow_up),
                aggregate_id=follow_up.id,
                org_path=follow_up.org_path,
                principal=principal,
                now=now,
            )
            return follow_up

    async def list_follow_ups(
        self, principal: Principal, *, customer_id: str, lead_id: str, owner_id: str, page_size: int, page_token: str
    ) -> Page[follow_ups.FollowUp]:
        async with self.sessions() as session:
            customer_id = await survivor_of(session, customer_id, writing=False)  # a merged id lists the survivor's
            return await follow_up_store.page_in_scope(
                session,
                principal,
                customer_id=customer_id,
                lead_id=lead_id,
                owner_id=owner_id,
                page_size=page_size,
                page_token=page_token,
            )
