"""The payload of the follow-up's event, built from the domain FollowUp in this one place."""

from __future__ import annotations

from salesgrid.events.v1.activities_events_pb2 import ActivitiesFollowUpLogged
from salesgrid_common.protos import to_timestamp
from salesgrid_activities.domain.follow_ups import FollowUp


def follow_up_logged(follow_up: FollowUp) -> ActivitiesFollowUpLogged:
    return ActivitiesFollowUpLogged(
        follow_up_id=follow_up.id,
        owner_id=follow_up.owner_id,
        org_path=follow_up.org_path,
        kind=follow_up.kind.value,
        occurred_at=to_timestamp(follow_up.occurred_at),
        customer_id=follow_up.customer_id or "",
        contact_id=follow_up.contact_id or "",
        opportunity_id=follow_up.opportunity_id or "",
        lead_id=follow_up.lead_id or "",
        next_follow_up_on=follow_up.next_follow_up_on.isoformat() if follow_up.next_follow_up_on else "",
    )
