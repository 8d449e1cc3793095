"""Sla use cases."""

from __future__ import annotations

from sqlalchemy import select

from salesgrid.events.v1.pipeline_events_pb2 import PipelineSlaNotice
from salesgrid_common import localtime
from salesgrid_common.directory import get_user
from salesgrid_common.protos import to_timestamp
from salesgrid_pipeline.domain import leads as lead_rules
from salesgrid_pipeline.domain import sla
from salesgrid_pipeline.models import Lead, Opportunity

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
            for row in (await session.scalars(select(Opportunity).where(Opportunity.status == "open"))).all():
                owner = await get_user(session, row.owner_id)
                manager = await get_user(session, owner.manager_id) if owner and owner.manager_id else None
                check = sla.due_notifications(
                    subject_id=row.id,
                    stage_code=row.stage,
                    entered_at=row.stage_entered_at,
                    sla_days=self.model_of(row.stage_model).stage(row.stage).sla_days,
                    now=now,
                    owner_id=row.owner_id,
                    manager_id=owner.manager_id if owner else None,
                    escalation_ids=(manager.manager_id,) if manager and manager.manager_id else (),
                    last_level_notified=sla.SlaLevel(row.sla_level_notified),
                    zone_name=(await calendars.of_user(row.owner_id)).zone_name,
                )
                for notice in check.notifications:
                    level = "overdue" if notice.level is sla.SlaLevel.OVERDUE else "escalated"
                    payload = PipelineSlaNotice(
                        opportunity_id=row.id,
                        stage=row.stage,
                        level=level,
                        recipient_ids=notice.recipient_ids,
                        owner_id=row.owner_id,
                        due_at=to_timestamp(notice.due_at),
                    )
                    await self._emit(session, f"sla.{level}", payload, row.id, row.org_path, None, now)
                    written += 1
                row.sla_level_notified = int(check.level_notified)
            assigned = (await session.scalars(select(Lead).where(Lead.status == "assigned"))).all()
            for row in assigned:
                lead = self._lead_domain(row)
                zone_name = (await calendars.of_user(row.owner_id)).zone_name
                if lead_rules.is_reclaim_due(lead, now, self.reclaim_after_days, zone_name):
                    previous = row.owner_id
                    self._lead_store(
                        row, lead_rules.reclaim(lead, now, self.reclaim_after_days, zone_name), row.org_path, now
                    )
                    await self._lead_event(session, "reclaimed", row, None, now, previous)
                    written += 1
        return written
