"""Event consumers: follow-ups logged in activities keep a lead's reclaim window open."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.activities_events_pb2 import ActivitiesFollowUpLogged
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.events.consumer import Subscription
from salesgrid_common.protos import from_timestamp
from salesgrid_pipeline.usecases import PipelineUseCases


def follow_up_subscription(uc: PipelineUseCases) -> Subscription:
    sub = Subscription(name="pipeline-lead-follow-ups", producer="activities")

    @sub.on("salesgrid.activities.follow_up.logged", ActivitiesFollowUpLogged)
    async def follow_up_logged(session: AsyncSession, envelope: Envelope, event: ActivitiesFollowUpLogged) -> None:
        if not event.lead_id:  # a customer's follow-up: nothing to do with leads
            return
        at = from_timestamp(event.occurred_at if event.HasField("occurred_at") else envelope.occurred_at)
        await uc.record_lead_follow_up(session, event.lead_id, event.owner_id, at)

    return sub
