"""The payloads of the visit's events, built from the domain Visit in this one place."""

from __future__ import annotations

from salesgrid.events.v1.activities_events_pb2 import ActivitiesVisitReading
from salesgrid_common.protos import to_timestamp
from salesgrid_activities.domain.check_ins import LocationAssessment, LocationFix, Visit


def check_in_reading(visit: Visit) -> ActivitiesVisitReading:
    """The check-in as `check_in.recorded` (and `check_in.flagged`) carry it."""
    return _reading(visit, visit.check_in, visit.check_in_assessment, 0)


def check_out_reading(visit: Visit) -> ActivitiesVisitReading:
    """The check-out as `check_out.recorded` carries it, with the time on site."""
    assert visit.check_out is not None and visit.check_out_assessment is not None
    duration = visit.duration
    return _reading(
        visit, visit.check_out, visit.check_out_assessment, int(duration.total_seconds()) if duration else 0
    )


def _reading(
    visit: Visit, fix: LocationFix, assessment: LocationAssessment, duration_seconds: int
) -> ActivitiesVisitReading:
    return ActivitiesVisitReading(
        visit_id=visit.visit_id,
        owner_id=visit.rep_id,
        org_path=visit.org_path,
        customer_id=visit.customer_id,
        latitude=fix.point.latitude,
        longitude=fix.point.longitude,
        accuracy_m=fix.accuracy_m,
        device_time=to_timestamp(fix.device_time),
        has_distance=assessment.distance_m is not None,
        distance_m=assessment.distance_m or 0.0,
        flags=[r.value for r in assessment.reasons],
        duration_seconds=duration_seconds,
    )
