"""The shared local calendar: properties across the extreme offsets (UTC+14, UTC-12), DST change
days (America/New_York, Europe/Berlin, Australia/Lord_Howe's half hour) and day boundaries, plus
the system actor rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesgrid_common import localtime
from salesgrid_common.actors import actor_of, is_system_actor, system_actor
from salesgrid_common.errors import ValidationFailed

ZONES = [
    "Pacific/Kiritimati",
    "Etc/GMT+12",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Shanghai",
    "Australia/Lord_Howe",
    "America/Santiago",
    "UTC",
]
# Instants from 2025 to 2027, biased to the hours around midnights and DST changes by hypothesis' shrinking.
INSTANTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))
DST_DAYS = [
    ("America/New_York", date(2026, 3, 8), 23),
    ("America/New_York", date(2026, 11, 1), 25),
    ("Europe/Berlin", date(2026, 3, 29), 23),
    ("Europe/Berlin", date(2026, 10, 25), 25),
]
PROPERTY = settings(max_examples=300, deadline=None)


@PROPERTY
@given(instant=INSTANTS, zone=st.sampled_from(ZONES))
def test_the_local_day_window_contains_the_instant_and_only_that_local_date(instant: datetime, zone: str) -> None:
    start, end = localtime.local_day_window(instant, zone)
    today = localtime.local_date(instant, zone)
    assert start <= instant < end
    assert start.tzinfo is UTC and end.tzinfo is UTC
    assert localtime.local_date(start, zone) == today
    assert localtime.local_date(end - timedelta(microseconds=1), zone) == today
    assert localtime.local_date(end, zone) == today + timedelta(days=1)
    assert timedelta(hours=23) <= end - start <= timedelta(hours=25)
    assert localtime.earliest_local_date(instant) <= today <= localtime.latest_local_date(instant)
    assert localtime.LocalCalendar(zone).today(instant) == today


@PROPERTY
@given(instant=INSTANTS, zone=st.sampled_from(["Pacific/Kiritimati", "Etc/GMT+12", "Asia/Shanghai", "UTC"]))
def test_zones_without_dst_have_24_hour_days_at_their_offset(instant: datetime, zone: str) -> None:
    start, end = localtime.local_day_window(instant, zone)
    assert end - start == timedelta(hours=24)
    offset = ZoneInfo(zone).utcoffset(instant.replace(tzinfo=None))
    assert start + offset == datetime.combine(localtime.local_date(instant, zone), time(0), tzinfo=UTC)


@PROPERTY
@given(
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    zone=st.sampled_from(ZONES),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 30, 59]),
)
def test_a_local_wall_time_maps_to_an_instant_on_that_local_day(day: date, zone: str, hour: int, minute: int) -> None:
    at = localtime.at_local_time(day, time(hour, minute), zone)
    local = at.astimezone(ZoneInfo(zone))
    assert localtime.local_date(at, zone) == day or (hour == 23 and local.date() == day + timedelta(days=1))
    start, end = localtime.day_bounds(day, zone)
    if (local.hour, local.minute) == (hour, minute):  # not inside a DST gap
        assert start <= at < end
    else:  # a skipped wall time lands after the gap, never before it
        assert local.replace(tzinfo=None) > datetime.combine(day, time(hour, minute))


@PROPERTY
@given(instant=INSTANTS, zone=st.sampled_from(ZONES), days=st.integers(-60, 400))
def test_adding_local_days_moves_the_local_date_by_exactly_that_many_days(
    instant: datetime, zone: str, days: int
) -> None:
    later = localtime.add_local_days(instant, days, zone)
    assert localtime.local_date(later, zone) == localtime.local_date(instant, zone) + timedelta(
        days=days
    ) or localtime.local_date(later, zone) == localtime.local_date(instant, zone) + timedelta(days=days + 1)
    before, after = instant.astimezone(ZoneInfo(zone)), later.astimezone(ZoneInfo(zone))
    if (after.hour, after.minute) == (before.hour, before.minute):
        assert localtime.local_date(later, zone) == localtime.local_date(instant, zone) + timedelta(days=days)


@pytest.mark.parametrize(("zone", "day", "hours"), DST_DAYS)
def test_dst_change_days_are_23_or_25_hours_long(zone: str, day: date, hours: int) -> None:
    start, end = localtime.day_bounds(day, zone)
    assert end - start == timedelta(hours=hours)
    # the 18:00 deadline of that day is 18:00 local, whatever the day's length
    deadline = localtime.at_local_time(day, time(18), zone).astimezone(ZoneInfo(zone))
    assert (deadline.date(), deadline.hour, deadline.minute) == (day, 18, 0)


def test_n_local_days_across_a_dst_change_keep_the_wall_time() -> None:
    entered = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)  # 10:00 in New York (EST)
    due = localtime.add_local_days(entered, 14, "America/New_York")
    assert due == datetime(2026, 3, 15, 14, 0, tzinfo=UTC)  # 10:00 EDT: 14 days minus one hour later
    assert localtime.add_local_days(entered, 14, "UTC") == entered + timedelta(days=14)


def test_the_extreme_offsets_are_a_day_apart_at_the_same_instant() -> None:
    instant = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
    assert localtime.local_date(instant, "Pacific/Kiritimati") == date(2026, 3, 3)  # 00:30 next day
    assert localtime.local_date(instant, "Etc/GMT+12") == date(2026, 3, 1)  # 22:30 the day before
    assert localtime.latest_local_date(instant) == date(2026, 3, 3)
    assert localtime.earliest_local_date(instant) == date(2026, 3, 1)
    # before 08:00 in Shanghai the UTC date is still yesterday
    early = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    assert localtime.local_date(early, "Asia/Shanghai") == date(2026, 3, 3)


def test_bad_zones_and_naive_instants_are_field_violations() -> None:
    for name in ("Mars/Olympus", "", "../etc/passwd"):
        with pytest.raises(ValidationFailed) as bad:
            localtime.zone(name)
        assert bad.value.field == "time_zone"
    with pytest.raises(ValidationFailed):
        localtime.local_date(datetime(2026, 3, 2, 10, 0), "UTC")
    assert localtime.calendar_for("Mars/Olympus") == localtime.UTC_CALENDAR
    assert localtime.calendar_for(None) == localtime.UTC_CALENDAR
    assert localtime.calendar_for("Asia/Shanghai").zone_name == "Asia/Shanghai"


class _Caller:
    subject_id = "user-1"
    client_ip = "10.0.0.1"


def test_automation_acts_as_system_service() -> None:
    assert system_actor("pipeline") == "system:pipeline"
    assert system_actor(" Contracts ") == "system:contracts"
    assert is_system_actor(system_actor("activities")) and not is_system_actor("user-1")
    assert actor_of(None, "customers") == ("system:customers", "")
    assert actor_of(_Caller(), "customers") == ("user-1", "10.0.0.1")
    for bad in ("", "  ", "a b", "x:y"):
        with pytest.raises(ValueError):
            system_actor(bad)
