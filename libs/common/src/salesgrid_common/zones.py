"""Time zones and local calendars (part of the pure shared kernel): every "today", "due",
"overdue", "within N days" and "in the future" decision of every service is taken on the calendar
of the unit the record belongs to (DESIGN: UTC in storage and on the wire, branch local time for
rules). A zone name in, dates and UTC instants out; no I/O. The lookups of a unit's zone in the
directory replica are in `salesgrid_common.localtime`, which re-exports everything here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from salesgrid_common.errors import ValidationFailed

DEFAULT_ZONE = "UTC"
# The widest offsets in use (Pacific/Kiritimati +14:00, Etc/GMT+12 -12:00): every local date on
# earth at an instant lies between the dates these give, which bounds SQL pre-filters.
_MAX_AHEAD = timedelta(hours=14)
_MAX_BEHIND = timedelta(hours=12)


@lru_cache(maxsize=512)
def zone(name: str, field: str = "time_zone") -> ZoneInfo:
    """The IANA zone `name`; an unknown or empty name is a field violation."""
    try:
        if not name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"{name!r} is not an IANA time zone", field) from None


def _instant(value: datetime, field: str = "now") -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed("must be a timezone-aware datetime", field)
    return value


def local_date(instant: datetime, zone_name: str) -> date:
    """The calendar date in `zone_name` at `instant` ("today" there)."""
    return _instant(instant).astimezone(zone(zone_name)).date()


def at_local_time(day: date, wall: time, zone_name: str) -> datetime:
    """The UTC instant of the wall-clock time `wall` on `day` in `zone_name`. A wall time skipped by
    a spring-forward jump is read with the offset before the jump (so it lands after the gap, e.g.
    02:30 -> 03:30); a repeated one is its first occurrence."""
    return datetime.combine(day, wall, tzinfo=zone(zone_name)).astimezone(UTC)


def day_bounds(day: date, zone_name: str) -> tuple[datetime, datetime]:
    """[start, end) of the local day `day` in `zone_name`, as UTC instants (23, 24 or 25 h long)."""
    return at_local_time(day, time(0), zone_name), at_local_time(day + timedelta(days=1), time(0), zone_name)


def local_day_window(instant: datetime, zone_name: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local day in `zone_name` that contains `instant`."""
    return day_bounds(local_date(instant, zone_name), zone_name)


def end_of_local_day(day: date, zone_name: str) -> datetime:
    """The first instant after `day` in `zone_name` (a date-only due date is due until then)."""
    return day_bounds(day, zone_name)[1]


def add_local_days(instant: datetime, days: int, zone_name: str) -> datetime:
    """`instant` moved `days` calendar days in `zone_name`, keeping its wall-clock time (so a
    "within N days" period is N local days even across a DST change)."""
    local = _instant(instant).astimezone(zone(zone_name))
    return at_local_time(local.date() + timedelta(days=days), local.time().replace(tzinfo=None), zone_name)


def latest_local_date(instant: datetime) -> date:
    """The most advanced calendar date anywhere at `instant` (UTC+14): a safe SQL upper bound."""
    return (_instant(instant).astimezone(UTC) + _MAX_AHEAD).date()


def earliest_local_date(instant: datetime) -> date:
    """The least advanced calendar date anywhere at `instant` (UTC-12)."""
    return (_instant(instant).astimezone(UTC) - _MAX_BEHIND).date()


@dataclass(frozen=True)
class LocalCalendar:
    """The calendar of one unit's zone; methods mirror the module functions."""

    zone_name: str = DEFAULT_ZONE

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.zone_name)

    def today(self, now: datetime) -> date:
        return local_date(now, self.zone_name)

    def date_of(self, instant: datetime) -> date:
        return local_date(instant, self.zone_name)

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        return day_bounds(day, self.zone_name)

    def at(self, day: date, wall: time) -> datetime:
        return at_local_time(day, wall, self.zone_name)

    def end_of_day(self, day: date) -> datetime:
        return end_of_local_day(day, self.zone_name)

    def add_days(self, instant: datetime, days: int) -> datetime:
        return add_local_days(instant, days, self.zone_name)


UTC_CALENDAR = LocalCalendar(DEFAULT_ZONE)


def calendar_for(zone_name: str | None) -> LocalCalendar:
    """The calendar of `zone_name`; a blank or unknown name (a corrupt replica row) falls back to
    UTC rather than failing a scheduler run."""
    if not zone_name:
        return UTC_CALENDAR
    try:
        zone(zone_name)
    except ValidationFailed:
        return UTC_CALENDAR
    return LocalCalendar(zone_name)
