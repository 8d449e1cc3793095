"""Sla use cases."""

from __future__ import annotations


from salesgrid.events.v1.pipeline_events_pb2 import PipelineSlaNotice
from salesgrid_common import localtime
from salesgrid_common.directory import DirectoryUser, get_user
from salesgrid_common.protos import to_timestamp
from salesgrid_pipeline.domain import leads as lead_rules
from salesgrid_pipeline.domain import sla
from salesgrid_pipeline.stores import leads as lead_store
from salesgrid_pipeline.stores import opportunities as opportunity_store

from salesgrid_pipeline.usecases._support import PipelineUseCasesBase


class SlaMixin(PipelineUseCasesBase):
    """PipelineUseCases: sla."""

    async def sla_scan(self) -> int:
        """One pass of the SLA engine: stage reminders / escalations and lead reclaim. Returns
        the number of events written. Idempotent: the level already notified is stored."""
        now = self.clock()
        written = 0
        async with self.sessions() as session, session.begin():
            await self._load_models(session)
            calendars = localtime.UnitCalendars(session)  # SLA days count on the owner's branch calendar
            users: dict[str, DirectoryUser | None] = {}

            async def user(user_id: str) -> DirectoryUser | None:  # each owner and manager read once a pass
                if user_id not in users:
                    users[user_id] = await get_user(session, user_id)
                return users[user_id]

            for opportunity in await opportunity_store.open_ones(session, self.model_of):
                owner = await user(opportunity.owner_id)
                manager = await user(owner.manager_id) if owner and owner.manager_id else None
                check = sla.due_notifications(
                    subject_id=opportunity.opportunity_id,
                    stage_code=opportunity.stage,
                    entered_at=opportunity.stage_entered_at,
                    sla_days=self.model_of(opportunity.stage_model).stage(opportunity.stage).sla_days,
                    now=now,
                    owner_id=opportunity.owner_id,
                    manager_id=owner.manager_id if owner else None,
                    escalation_ids=(manager.manager_id,) if manager and manager.manager_id else (),
                    last_level_notified=sla.SlaLevel(opportunity.sla_level_notified),
                    zone_name=(await calendars.of_user(opportunity.owner_id)).zone_name,
                )
                for notice in check.notifications:
                    level = "overdue" if notice.level is sla.SlaLevel.OVERDUE else "escalated"
                    payload = PipelineSlaNotice(
                        opportunity_id=opportunity.opportunity_id,
                        stage=opportunity.stage,
                        level=level,
                        recipient_ids=notice.recipient_ids,
                        owner_id=opportunity.owner_id,
                        due_at=to_timestamp(notice.due_at),
                    )
                    await self._emit(
                        session, f"sla.{level}", payload, opportunity.opportunity_id, opportunity.org_path, None, now
                    )
                    written += 1
                if int(check.level_notified) != opportunity.sla_level_notified:
                    await opportunity_store.set_sla_level(
                        session, opportunity.opportunity_id, int(check.level_notified)
                    )
            for lead in await lead_store.assigned(session):
                zone_name = (await calendars.of_user(lead.owner_id or "")).zone_name
                if lead_rules.is_reclaim_due(lead, now, self.reclaim_after_days, zone_name):
                    previous = lead.owner_id or ""
                    reclaimed = lead_rules.reclaim(lead, now, self.reclaim_after_days, zone_name)
                    reclaimed = await lead_store.save(session, reclaimed)
                    await self._lead_event(session, "reclaimed", reclaimed, None, now, previous)
                    written += 1
        return written
