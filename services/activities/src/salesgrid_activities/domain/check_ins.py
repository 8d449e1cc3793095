"""Visit check-in (拜访签到): where the rep was, how far from the customer, and for how long."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from ._validation import Violations, require_instant
from .errors import Conflict, FailedPrecondition, PermissionDenied, ValidationFailed

MEAN_EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
MAX_PHOTO_REF_LENGTH = 512


@dataclass(frozen=True)
class GeoPoint:
    latitude: float
    longitude: float

    def __post_init__(self) -> None:
        v = Violations()
        _check_coordinates(v, self.latitude, self.longitude)
        v.raise_if_any()


def _check_coordinates(v: Violations, latitude: object, longitude: object) -> tuple[float, float] | None:
    lat = v.number(latitude, "latitude")
    lon = v.number(longitude, "longitude")
    if lat is not None and not -90.0 <= lat <= 90.0:
        v.add("latitude", "must be between -90 and 90")
        lat = None
    if lon is not None and not -180.0 <= lon <= 180.0:
        v.add("longitude", "must be between -180 and 180")
        lon = None
    return (lat, lon) if lat is not None and lon is not None else None


def haversine_m(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance in metres on a sphere of the mean Earth radius."""
    phi1, phi2 = math.radians(a.latitude), math.radians(b.latitude)
    d_phi = phi2 - phi1
    d_lambda = math.radians(b.longitude - a.longitude)
    h = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    # min() guards against rounding pushing h a hair above 1 for antipodal points.
    return 2 * MEAN_EARTH_RADIUS_KM * 1000.0 * math.asin(math.sqrt(min(1.0, h)))


@dataclass(frozen=True)
class CheckInPolicy:
    """Per-unit thresholds; the defaults are the company standard."""

    radius_m: float = 500.0
    max_accuracy_m: float = 200.0
    max_device_clock_ahead: timedelta = timedelta(minutes=10)

    def __post_init__(self) -> None:
        v = Violations()
        if not self.radius_m > 0:
            v.add("radius_m", "must be positive")
        if not self.max_accuracy_m > 0:
            v.add("max_accuracy_m", "must be positive")
        if self.max_device_clock_ahead < timedelta(0):
            v.add("max_device_clock_ahead", "must not be negative")
        v.raise_if_any()


@dataclass(frozen=True)
class LocationFix:
    """One reading from the rep's phone: position, accuracy radius, the phone's own clock."""

    point: GeoPoint
    accuracy_m: float
    device_time: datetime
    photo_ref: str | None = None


def validate_fix(
    *,
    latitude: float,
    longitude: float,
    accuracy_m: float,
    device_time: datetime,
    photo_ref: str | None = None,
    now: datetime,
    policy: CheckInPolicy = CheckInPolicy(),
) -> LocationFix:
    """Check a raw reading; device time may lag (offline sync) but not run ahead of the server."""
    server_now = require_instant(now, "now")
    v = Violations()
    coords = _check_coordinates(v, latitude, longitude)
    accuracy = v.number(accuracy_m, "accuracy_m")
    if accuracy is not None and accuracy < 0:
        v.add("accuracy_m", "must not be negative")
    when = v.instant(device_time, "device_time")
    if when is not None and when > server_now + policy.max_device_clock_ahead:
        v.add("device_time", "is too far in the future of server time")
    photo = v.text(photo_ref, "photo_ref", max_length=MAX_PHOTO_REF_LENGTH, required=False)
    v.raise_if_any()
    assert coords is not None and accuracy is not None and when is not None
    return LocationFix(GeoPoint(*coords), accuracy, when, photo)


class FlagReason(StrEnum):
    TOO_FAR = "too_far"
    POOR_ACCURACY = "poor_accuracy"
    NO_REFERENCE = "no_reference"


@dataclass(frozen=True)
class LocationAssessment:
    """Distance to the customer (``None`` without reference coordinates) and why it is suspect."""

    distance_m: float | None
    reasons: tuple[FlagReason, ...]

    @property
    def flagged(self) -> bool:
        return bool(self.reasons)


def assess_location(
    fix: LocationFix, customer_location: GeoPoint | None, policy: CheckInPolicy = CheckInPolicy()
) -> LocationAssessment:
    """Flag a reading too far from the customer, too imprecise, or impossible to check."""
    reasons: list[FlagReason] = []
    distance: float | None = None
    if customer_location is None:
        reasons.append(FlagReason.NO_REFERENCE)
    else:
        distance = haversine_m(fix.point, customer_location)
        if distance > policy.radius_m:
            reasons.append(FlagReason.TOO_FAR)
    if fix.accuracy_m > policy.max_accuracy_m:
        reasons.append(FlagReason.POOR_ACCURACY)
    return LocationAssessment(distance, tuple(reasons))


@dataclass(frozen=True)
class Visit:
    """A check-in, and once the rep leaves, its check-out."""

    visit_id: str
    rep_id: str
    customer_id: str
    check_in: LocationFix
    check_in_received_at: datetime
    check_in_assessment: LocationAssessment
    check_out: LocationFix | None = None
    check_out_received_at: datetime | None = None
    check_out_assessment: LocationAssessment | None = None
    org_path: str = ""  # the rep's: the visit's scope
    version: int = 1

    @property
    def is_open(self) -> bool:
        return self.check_out is None

    @property
    def flagged(self) -> bool:
        out_flagged = self.check_out_assessment is not None and self.check_out_assessment.flagged
        return self.check_in_assessment.flagged or out_flagged

    @property
    def duration(self) -> timedelta | None:
        """Time on site by the phone's clock, which stays right for readings synced later offline."""
        if self.check_out is None:
            return None
        return self.check_out.device_time - self.check_in.device_time


def check_in(
    *,
    visit_id: str,
    rep_id: str,
    customer_id: str,
    fix: LocationFix,
    customer_location: GeoPoint | None,
    open_visits: Iterable[Visit],
    now: datetime,
    policy: CheckInPolicy = CheckInPolicy(),
) -> Visit:
    """Open a visit; ``open_visits`` are the rep's visits without check-out (any customer)."""
    received = require_instant(now, "now")
    v = Violations()
    vid = v.identifier(visit_id, "visit_id", required=True)
    rep = v.identifier(rep_id, "rep_id", required=True)
    customer = v.identifier(customer_id, "customer_id", required=True)
    v.raise_if_any()
    assert vid is not None and rep is not None and customer is not None
    for visit in open_visits:
        if visit.is_open and visit.rep_id == rep and visit.customer_id == customer:
            raise Conflict("an open check-in at this customer already exists", "customer_id")
    return Visit(
        visit_id=vid,
        rep_id=rep,
        customer_id=customer,
        check_in=fix,
        check_in_received_at=received,
        check_in_assessment=assess_location(fix, customer_location, policy),
    )


def check_out(
    *,
    visit: Visit | None,
    rep_id: str,
    fix: LocationFix,
    customer_location: GeoPoint | None,
    now: datetime,
    policy: CheckInPolicy = CheckInPolicy(),
) -> Visit:
    """Close the rep's open visit at a customer (``visit`` is that open visit, ``None`` if none)."""
    received = require_instant(now, "now")
    if visit is None or not visit.is_open:
        raise FailedPrecondition("no open check-in at this customer", "customer_id")
    if visit.rep_id != rep_id:
        raise PermissionDenied("only the rep who checked in can check out", "rep_id")
    if fix.device_time < visit.check_in.device_time:
        raise ValidationFailed("must not be before the check-in time", "device_time")
    return replace(
        visit,
        check_out=fix,
        check_out_received_at=received,
        check_out_assessment=assess_location(fix, customer_location, policy),
    )
