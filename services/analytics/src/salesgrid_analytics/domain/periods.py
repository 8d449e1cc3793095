"""Calendar periods (year, quarter, month) in an org unit's local time zone.

A `Period` is the half-open day range [start, end): `end` is the first day after the period.
Instants are placed in periods by their local date in the given IANA zone, because a
month's figures belong to the branch's month, not UTC's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from salesgrid_common import zones

from .errors import ValidationFailed


class PeriodKind(StrEnum):
    YEAR = "year"
    QUARTER = "quarter"
    MONTH = "month"
    SPAN = "span"  # whole calendar periods from one to another (a report range, never a target)


_FINER = {PeriodKind.YEAR: PeriodKind.QUARTER, PeriodKind.QUARTER: PeriodKind.MONTH}
_RANK = {PeriodKind.SPAN: -1, PeriodKind.YEAR: 0, PeriodKind.QUARTER: 1, PeriodKind.MONTH: 2}
_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q(\d)$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.kind is PeriodKind.SPAN:
            if self.start.day != 1 or self.end.day != 1 or self.end <= self.start:
                raise ValidationFailed(f"{self.start}..{self.end} is not a range of whole months", "period")
            return
        expected = _span(self.kind, self.start)
        if expected != (self.start, self.end):
            raise ValidationFailed(f"{self.start}..{self.end} is not a calendar {self.kind.value}", "period")

    @staticmethod
    def year(year: int) -> Period:
        return Period(PeriodKind.YEAR, date(year, 1, 1), date(year + 1, 1, 1))

    @staticmethod
    def quarter(year: int, quarter: int) -> Period:
        if not 1 <= quarter <= 4:
            raise ValidationFailed(f"quarter {quarter} is not 1-4", "period")
        first = 3 * (quarter - 1) + 1
        return Period(PeriodKind.QUARTER, date(year, first, 1), _month_start(year, first + 3))

    @staticmethod
    def month(year: int, month: int) -> Period:
        if not 1 <= month <= 12:
            raise ValidationFailed(f"month {month} is not 1-12", "period")
        return Period(PeriodKind.MONTH, date(year, month, 1), _month_start(year, month + 1))

    @property
    def label(self) -> str:
        if self.kind is PeriodKind.SPAN:  # inclusive months, e.g. 2026-04..2026-09
            return f"{self.start:%Y-%m}..{date.fromordinal(self.end.toordinal() - 1):%Y-%m}"
        if self.kind is PeriodKind.YEAR:
            return f"{self.start.year:04d}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.start.year:04d}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year:04d}-{self.start.month:02d}"

    def __str__(self) -> str:
        return self.label

    @property
    def sort_key(self) -> tuple[date, int]:
        return (self.start, _RANK[self.kind])

    def contains_date(self, day: date) -> bool:
        return self.start <= day < self.end

    def contains(self, instant: datetime, tz: ZoneInfo) -> bool:
        return self.contains_date(local_date(instant, tz))

    def start_instant(self, tz: ZoneInfo) -> datetime:
        return datetime.combine(self.start, time(), tz)

    def end_instant(self, tz: ZoneInfo) -> datetime:
        """The first instant after the period, in the zone's local midnight."""
        return datetime.combine(self.end, time(), tz)

    def is_within(self, other: Period) -> bool:
        return other.start <= self.start and self.end <= other.end

    def is_finer_than(self, other: Period) -> bool:
        return _RANK[self.kind] > _RANK[other.kind]

    def children(self) -> tuple[Period, ...]:
        """Quarters of a year, months of a quarter; a month has none."""
        finer = _FINER.get(self.kind)
        if finer is None:
            return ()
        return _covering(finer, self.start, self.end)

    def months(self) -> tuple[Period, ...]:
        return _covering(PeriodKind.MONTH, self.start, self.end)

    def next(self) -> Period:
        return _at(self.kind, self.end)


def _span(kind: PeriodKind, start: date) -> tuple[date, date] | None:
    if start.day != 1:
        return None
    if kind is PeriodKind.YEAR:
        return (start, date(start.year + 1, 1, 1)) if start.month == 1 else None
    if kind is PeriodKind.QUARTER:
        return (start, _month_start(start.year, start.month + 3)) if start.month % 3 == 1 else None
    return (start, _month_start(start.year, start.month + 1))


def _at(kind: PeriodKind, start: date) -> Period:
    span = _span(kind, start)
    assert span is not None  # callers only pass aligned starts
    return Period(kind, *span)


def _covering(kind: PeriodKind, start: date, end: date) -> tuple[Period, ...]:
    result: list[Period] = []
    current = _at(kind, start)
    while current.start < end:
        result.append(current)
        current = current.next()
    return tuple(result)


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValidationFailed("timestamp must be timezone-aware", "occurred_at")
    return zones.local_date(instant, tz.key)


def month_of(instant: datetime, tz: ZoneInfo) -> Period:
    day = local_date(instant, tz)
    return Period.month(day.year, day.month)


def month_containing(day: date) -> Period:
    return Period.month(day.year, day.month)


def parse_period(text: str, field: str = "period") -> Period:
    """Parse "2026", "2026-Q3" or "2026-07"; errors name `field`."""
    if not isinstance(text, str):
        raise ValidationFailed("must be a string such as 2026, 2026-Q3 or 2026-07", field)
    value = text.strip()
    if m := _YEAR.match(value):
        year = _year(m.group(1), field)
        return Period.year(year)
    if m := _QUARTER.match(value):
        year, quarter = _year(m.group(1), field), int(m.group(2))
        if not 1 <= quarter <= 4:
            raise ValidationFailed(f"quarter must be Q1-Q4, got {text!r}", field)
        return Period.quarter(year, quarter)
    if m := _MONTH.match(value):
        year, month = _year(m.group(1), field), int(m.group(2))
        if not 1 <= month <= 12:
            raise ValidationFailed(f"month must be 01-12, got {text!r}", field)
        return Period.month(year, month)
    raise ValidationFailed(f"{text!r} is not a period; use 2026, 2026-Q3 or 2026-07", field)


def _year(text: str, field: str) -> int:
    year = int(text)
    if year < 1 or year > 9998:
        raise ValidationFailed(f"year {year} is out of range", field)
    return year


def period_range(
    start: str | Period,
    end: str | Period,
    start_field: str = "from",
    end_field: str = "to",
) -> tuple[Period, ...]:
    """Every period from `start` to `end` inclusive; both of one kind, end not before start."""
    first = start if isinstance(start, Period) else parse_period(start, start_field)
    last = end if isinstance(end, Period) else parse_period(end, end_field)
    if first.kind is not last.kind:
        raise ValidationFailed(f"must be a {first.kind.value} like {start_field!r}, got {last.label}", end_field)
    if last.start < first.start:
        raise ValidationFailed(f"{last.label} is before {first.label}", end_field)
    return _covering(first.kind, first.start, last.end)


def parse_span(start: str, end: str, start_field: str = "from", end_field: str = "to") -> Period:
    """The report range from the period `start` to the period `end`, both included (of any kinds:
    2026-04 to 2026-Q3 is April to September); a range that ends before it starts names `end_field`."""
    first, last = parse_period(start, start_field), parse_period(end, end_field)
    if last.end <= first.start or last.start < first.start:
        raise ValidationFailed(f"ends before it starts: {last.label} is before {first.label}", end_field)
    return Period(PeriodKind.SPAN, first.start, max(first.end, last.end))
