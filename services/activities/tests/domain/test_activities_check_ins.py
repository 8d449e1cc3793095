from datetime import datetime, timedelta, UTC
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesgrid_activities.domain.check_ins import (
    CheckInPolicy,
    FlagReason,
    GeoPoint,
    LocationFix,
    assess_location,
    check_in,
    check_out,
    haversine_m,
    validate_fix,
)
from salesgrid_activities.domain.errors import Conflict, FailedPrecondition, PermissionDenied, ValidationFailed

NOW = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
CUSTOMER = GeoPoint(31.2304, 121.4737)  # People's Square, Shanghai

BEIJING = GeoPoint(39.9042, 116.4074)
SHANGHAI = GeoPoint(31.2304, 121.4737)
LONDON = GeoPoint(51.5074, -0.1278)
PARIS = GeoPoint(48.8566, 2.3522)
NEW_YORK = GeoPoint(40.7128, -74.0060)
LOS_ANGELES = GeoPoint(34.0522, -118.2437)


def fix(lat: float = 31.2304, lon: float = 121.4737, accuracy: float = 20.0, at: datetime = NOW) -> LocationFix:
    return validate_fix(latitude=lat, longitude=lon, accuracy_m=accuracy, device_time=at, now=NOW)


def north_of(point: GeoPoint, metres: float) -> tuple[float, float]:
    # One degree of latitude is pi*R/180 on the sphere used by haversine_m.
    return point.latitude + metres / (6371008.8 * 3.141592653589793 / 180), point.longitude


@pytest.mark.parametrize(
    "a,b,expected_km",
    [(BEIJING, SHANGHAI, 1067), (LONDON, PARIS, 344), (NEW_YORK, LOS_ANGELES, 3936)],
)
def test_haversine_matches_known_city_distances(a: GeoPoint, b: GeoPoint, expected_km: float) -> None:
    assert haversine_m(a, b) / 1000 == pytest.approx(expected_km, rel=0.01)


def test_haversine_zero_and_quarter_circumference() -> None:
    assert haversine_m(CUSTOMER, CUSTOMER) == 0
    quarter = haversine_m(GeoPoint(0, 0), GeoPoint(0, 90))
    assert quarter == pytest.approx(6371008.8 * 3.141592653589793 / 2, rel=1e-9)


def test_haversine_across_the_antimeridian() -> None:
    assert haversine_m(GeoPoint(0, 179.5), GeoPoint(0, -179.5)) == pytest.approx(111195, rel=1e-3)


lat = st.floats(-90, 90)
lon = st.floats(-180, 180)


@given(lat, lon, lat, lon)
def test_haversine_is_symmetric_and_bounded(a1: float, o1: float, a2: float, o2: float) -> None:
    a, b = GeoPoint(a1, o1), GeoPoint(a2, o2)
    assert haversine_m(a, b) == pytest.approx(haversine_m(b, a), abs=1e-6)
    assert 0 <= haversine_m(a, b) <= 6371008.8 * 3.141592653589793 + 1e-6


@pytest.mark.parametrize(
    "field,kwargs",
    [
        ("latitude", {"latitude": 90.0001}),
        ("latitude", {"latitude": -91}),
        ("latitude", {"latitude": float("nan")}),
        ("latitude", {"latitude": True}),
        ("longitude", {"longitude": 180.5}),
        ("longitude", {"longitude": -181}),
        ("accuracy_m", {"accuracy_m": -0.1}),
        ("accuracy_m", {"accuracy_m": "10"}),
        ("device_time", {"device_time": NOW + timedelta(minutes=10, seconds=1)}),
        ("device_time", {"device_time": datetime(2026, 4, 1, 2, 0)}),
    ],
)
def test_bad_reading_is_rejected_naming_the_field(field: str, kwargs: dict[str, object]) -> None:
    args: dict[str, object] = dict(latitude=31.0, longitude=121.0, accuracy_m=10.0, device_time=NOW, now=NOW)
    args.update(kwargs)
    with pytest.raises(ValidationFailed) as info:
        validate_fix(**args)  # type: ignore[arg-type]
    assert [f for f, _ in info.value.violations] == [field]


def test_reading_edges_are_accepted() -> None:
    reading = validate_fix(
        latitude=-90,
        longitude=180,
        accuracy_m=0,
        device_time=NOW + timedelta(minutes=10),
        now=NOW,
        photo_ref=" p/1.jpg ",
    )
    assert reading.point == GeoPoint(-90.0, 180.0)
    assert reading.photo_ref == "p/1.jpg"
    # An offline reading synced hours later is fine: only the future is suspect.
    assert validate_fix(latitude=0, longitude=0, accuracy_m=5, device_time=NOW - timedelta(hours=6), now=NOW)


def test_future_limit_is_configurable() -> None:
    policy = CheckInPolicy(max_device_clock_ahead=timedelta(minutes=2))
    with pytest.raises(ValidationFailed) as info:
        validate_fix(
            latitude=0, longitude=0, accuracy_m=5, device_time=NOW + timedelta(minutes=3), now=NOW, policy=policy
        )
    assert info.value.field == "device_time"


def test_several_bad_fields_reported_together() -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_fix(latitude=100, longitude=200, accuracy_m=-1, device_time=NOW, now=NOW)
    assert {f for f, _ in info.value.violations} == {"latitude", "longitude", "accuracy_m"}


def test_geopoint_validates_itself() -> None:
    with pytest.raises(ValidationFailed) as info:
        GeoPoint(95, 0)
    assert info.value.field == "latitude"


def test_decimal_coordinates_are_accepted() -> None:
    reading = validate_fix(
        latitude=Decimal("31.2304"), longitude=Decimal("121.4737"), accuracy_m=Decimal("5"), device_time=NOW, now=NOW
    )  # type: ignore[arg-type]
    assert reading.point == CUSTOMER


def test_close_and_precise_is_not_flagged() -> None:
    result = assess_location(fix(*north_of(CUSTOMER, 120)), CUSTOMER)
    assert result.distance_m == pytest.approx(120, abs=0.5)
    assert result.reasons == () and not result.flagged


def test_radius_boundary() -> None:
    inside = assess_location(fix(*north_of(CUSTOMER, 499)), CUSTOMER)
    outside = assess_location(fix(*north_of(CUSTOMER, 501)), CUSTOMER)
    assert not inside.flagged
    assert outside.reasons == (FlagReason.TOO_FAR,)
    assert outside.distance_m == pytest.approx(501, abs=0.5)


def test_radius_is_configurable_per_unit() -> None:
    rural = CheckInPolicy(radius_m=2000)
    assert not assess_location(fix(*north_of(CUSTOMER, 1500)), CUSTOMER, rural).flagged
    assert assess_location(fix(*north_of(CUSTOMER, 1500)), CUSTOMER).reasons == (FlagReason.TOO_FAR,)


def test_poor_accuracy_is_flagged_with_configurable_limit() -> None:
    assert not assess_location(fix(accuracy=200), CUSTOMER).flagged
    assert assess_location(fix(accuracy=201), CUSTOMER).reasons == (FlagReason.POOR_ACCURACY,)
    assert not assess_location(fix(accuracy=201), CUSTOMER, CheckInPolicy(max_accuracy_m=300)).flagged


def test_far_and_imprecise_gives_both_reasons() -> None:
    result = assess_location(fix(*north_of(CUSTOMER, 5000), accuracy=900), CUSTOMER)
    assert result.reasons == (FlagReason.TOO_FAR, FlagReason.POOR_ACCURACY)


def test_customer_without_coordinates_is_no_reference() -> None:
    result = assess_location(fix(), None)
    assert result.reasons == (FlagReason.NO_REFERENCE,)
    assert result.distance_m is None


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"radius_m": 0}, "radius_m"),
        ({"max_accuracy_m": -5}, "max_accuracy_m"),
        ({"max_device_clock_ahead": timedelta(-1)}, "max_device_clock_ahead"),
    ],
)
def test_policy_rejects_nonsense(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        CheckInPolicy(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def open_visit(customer_id: str = "cust-1", rep_id: str = "rep-1", reading: LocationFix | None = None):
    return check_in(
        visit_id="v-1",
        rep_id=rep_id,
        customer_id=customer_id,
        fix=reading or fix(),
        customer_location=CUSTOMER,
        open_visits=[],
        now=NOW,
    )


def test_check_in_records_assessment_and_server_time() -> None:
    visit = check_in(
        visit_id="v-1",
        rep_id="rep-1",
        customer_id="cust-1",
        fix=fix(*north_of(CUSTOMER, 800)),
        customer_location=CUSTOMER,
        open_visits=[],
        now=NOW,
    )
    assert visit.is_open and visit.flagged
    assert visit.check_in_assessment.reasons == (FlagReason.TOO_FAR,)
    assert visit.check_in_received_at == NOW
    assert visit.duration is None


def test_second_open_check_in_at_same_customer_is_a_conflict() -> None:
    first = open_visit()
    with pytest.raises(Conflict) as info:
        check_in(
            visit_id="v-2",
            rep_id="rep-1",
            customer_id="cust-1",
            fix=fix(),
            customer_location=CUSTOMER,
            open_visits=[first],
            now=NOW,
        )
    assert info.value.field == "customer_id"


def test_open_visit_elsewhere_or_by_another_rep_does_not_block() -> None:
    elsewhere = open_visit(customer_id="cust-2")
    colleague = open_visit(rep_id="rep-2")
    visit = check_in(
        visit_id="v-3",
        rep_id="rep-1",
        customer_id="cust-1",
        fix=fix(),
        customer_location=CUSTOMER,
        open_visits=[elsewhere, colleague],
        now=NOW,
    )
    assert visit.visit_id == "v-3"


def test_closed_visit_at_same_customer_does_not_block() -> None:
    closed = check_out(
        visit=open_visit(), rep_id="rep-1", fix=fix(at=NOW + timedelta(minutes=1)), customer_location=CUSTOMER, now=NOW
    )
    assert check_in(
        visit_id="v-4",
        rep_id="rep-1",
        customer_id="cust-1",
        fix=fix(),
        customer_location=CUSTOMER,
        open_visits=[closed],
        now=NOW,
    )


def test_check_in_requires_ids() -> None:
    with pytest.raises(ValidationFailed) as info:
        check_in(visit_id="", rep_id=" ", customer_id=None, fix=fix(), customer_location=None, open_visits=[], now=NOW)  # type: ignore[arg-type]
    assert {f for f, _ in info.value.violations} == {"visit_id", "rep_id", "customer_id"}


def test_check_out_gives_duration_by_device_time() -> None:
    start = NOW - timedelta(hours=3)  # both readings were taken offline and synced now
    visit = open_visit(reading=fix(at=start))
    done = check_out(
        visit=visit, rep_id="rep-1", fix=fix(at=start + timedelta(minutes=47)), customer_location=CUSTOMER, now=NOW
    )
    assert not done.is_open
    assert done.duration == timedelta(minutes=47)
    assert done.check_out_received_at == NOW
    assert done.check_out_assessment is not None and not done.check_out_assessment.flagged


def test_check_out_far_away_flags_the_visit() -> None:
    done = check_out(
        visit=open_visit(),
        rep_id="rep-1",
        fix=fix(*north_of(CUSTOMER, 3000), at=NOW + timedelta(minutes=5)),
        customer_location=CUSTOMER,
        now=NOW,
    )
    assert not done.check_in_assessment.flagged
    assert done.flagged


def test_check_out_without_open_check_in_is_rejected() -> None:
    with pytest.raises(FailedPrecondition):
        check_out(visit=None, rep_id="rep-1", fix=fix(), customer_location=CUSTOMER, now=NOW)
    closed = check_out(visit=open_visit(), rep_id="rep-1", fix=fix(), customer_location=CUSTOMER, now=NOW)
    with pytest.raises(FailedPrecondition):
        check_out(visit=closed, rep_id="rep-1", fix=fix(), customer_location=CUSTOMER, now=NOW)


def test_check_out_by_another_rep_is_denied() -> None:
    with pytest.raises(PermissionDenied):
        check_out(visit=open_visit(), rep_id="rep-2", fix=fix(), customer_location=CUSTOMER, now=NOW)


def test_check_out_before_check_in_is_invalid() -> None:
    with pytest.raises(ValidationFailed) as info:
        check_out(
            visit=open_visit(),
            rep_id="rep-1",
            fix=fix(at=NOW - timedelta(seconds=1)),
            customer_location=CUSTOMER,
            now=NOW,
        )
    assert info.value.field == "device_time"
