"""Follow-ups and visits <-> proto: what a rep did in the field."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.protobuf.message import Message

from salesgrid.activities.v1 import activities_pb2 as pb
from salesgrid_common.protos import from_timestamp, to_timestamp
from salesgrid_activities.domain.check_ins import LocationAssessment, LocationFix, Visit
from salesgrid_activities.domain.follow_ups import FollowUp


def when(message: Message, field: str) -> datetime | None:
    return from_timestamp(getattr(message, field)) if message.HasField(field) else None


def reading_of(request: pb.CheckInRequest | pb.CheckOutRequest) -> dict[str, Any]:
    r = request.reading
    return {
        "latitude": r.latitude,
        "longitude": r.longitude,
        "accuracy_m": r.accuracy_m,
        "device_time": when(r, "device_time"),
        "photo_ref": r.photo_ref or None,
    }


def follow_up_pb(follow_up: FollowUp) -> pb.FollowUp:
    return pb.FollowUp(
        id=follow_up.id,
        owner_id=follow_up.owner_id,
        org_path=follow_up.org_path,
        kind=follow_up.kind.value,
        occurred_at=to_timestamp(follow_up.occurred_at),
        notes=follow_up.notes,
        customer_id=follow_up.customer_id or "",
        contact_id=follow_up.contact_id or "",
        opportunity_id=follow_up.opportunity_id or "",
        lead_id=follow_up.lead_id or "",
        next_follow_up_on=follow_up.next_follow_up_on.isoformat() if follow_up.next_follow_up_on else "",
        created_at=to_timestamp(follow_up.created_at) if follow_up.created_at else None,
        version=follow_up.version,
    )


def visit_end_pb(fix: LocationFix, received_at: datetime | None, assessment: LocationAssessment) -> pb.VisitEnd:
    return pb.VisitEnd(
        reading=pb.LocationReading(
            latitude=fix.point.latitude,
            longitude=fix.point.longitude,
            accuracy_m=fix.accuracy_m,
            device_time=to_timestamp(fix.device_time),
            photo_ref=fix.photo_ref or "",
        ),
        received_at=to_timestamp(received_at),
        has_distance=assessment.distance_m is not None,
        distance_m=assessment.distance_m or 0.0,
        flags=[r.value for r in assessment.reasons],
    )


def visit_pb(visit: Visit) -> pb.Visit:
    duration = visit.duration
    out, out_assessment = visit.check_out, visit.check_out_assessment
    return pb.Visit(
        id=visit.visit_id,
        owner_id=visit.rep_id,
        org_path=visit.org_path,
        customer_id=visit.customer_id,
        check_in=visit_end_pb(visit.check_in, visit.check_in_received_at, visit.check_in_assessment),
        check_out=None
        if out is None or out_assessment is None
        else visit_end_pb(out, visit.check_out_received_at, out_assessment),
        flagged=visit.flagged,
        duration_seconds=int(duration.total_seconds()) if duration else 0,
        version=visit.version,
    )
