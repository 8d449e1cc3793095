"""Daily work reports (工作日报): deadlines in branch local time, late/missing/falsified policy.

Source rule: 当天18:00之前提交工作日报;
每延交一次罚款10元, 每缺交一次罚款30元, 每虚报一次罚款50元.
The deadline time and the amounts are per-unit configuration (:class:`ReportPolicy`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from salesgrid_common import zones

from ._validation import Violations, require_instant
from .errors import Conflict, FailedPrecondition, PermissionDenied, ValidationFailed
from .money import Money, is_currency_code

MAX_SUMMARY_LENGTH = 5000
MAX_PLAN_LENGTH = 5000
MAX_PROBLEMS_LENGTH = 5000
MAX_COMMENT_LENGTH = 2000
MAX_VISITS = 100


class ReportStatus(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"


class Infraction(StrEnum):
    LATE = "late"
    MISSING = "missing"
    FALSIFIED = "falsified"


@dataclass(frozen=True)
class ReportPolicy:
    """Per-unit report policy; defaults follow the source documents."""

    deadline: time = time(18, 0)
    late_fine: Decimal = Decimal("10")
    missing_fine: Decimal = Decimal("30")
    falsified_fine: Decimal = Decimal("50")
    currency: str = "CNY"
    # Weekdays (Monday=0) that need a report; the source asks for one every day.
    report_weekdays: frozenset[int] = field(default_factory=lambda: frozenset(range(7)))

    def __post_init__(self) -> None:
        v = Violations()
        if not isinstance(self.deadline, time) or self.deadline.tzinfo is not None:
            v.add("deadline", "must be a local wall-clock time without time zone")
        for name in ("late_fine", "missing_fine", "falsified_fine"):
            amount = getattr(self, name)
            if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
                v.add(name, "must be a non-negative Decimal")
        if not is_currency_code(self.currency):
            v.add("currency", "must be an ISO-4217 code such as CNY")
        if not self.report_weekdays or not all(d in range(7) for d in self.report_weekdays):
            v.add("report_weekdays", "must be a non-empty set of weekdays 0 (Monday) to 6")
        v.raise_if_any()

    def fine(self, infraction: Infraction) -> Money:
        amounts = {
            Infraction.LATE: self.late_fine,
            Infraction.MISSING: self.missing_fine,
            Infraction.FALSIFIED: self.falsified_fine,
        }
        return Money(amounts[infraction], self.currency)


# --- local days and deadlines -------------------------------------------------------------


def local_report_date(now: datetime, tz: ZoneInfo) -> date:
    """The date of the report a rep in ``tz`` is writing at instant ``now``."""
    return zones.local_date(require_instant(now, "now"), tz.key)


def day_bounds_utc(local_date: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``[start, end)`` of a local day in UTC; 23 or 25 hours long on DST change days."""
    _require_date(local_date, "report_date")
    return zones.day_bounds(local_date, tz.key)


def deadline_utc(local_date: date, tz: ZoneInfo, deadline_time: time = time(18, 0)) -> datetime:
    """The deadline instant for ``local_date`` in ``tz``.

    A wall time skipped by a DST gap is read with the offset before the change (so it lands
    just after the gap); a repeated wall time means its first occurrence.
    """
    _require_date(local_date, "report_date")
    return zones.at_local_time(local_date, deadline_time, tz.key)


def classify_submission(
    submitted_at: datetime, local_date: date, tz: ZoneInfo, policy: ReportPolicy = ReportPolicy()
) -> ReportStatus:
    """On time up to and including the deadline instant, late until local midnight.

    A report cannot be filed before its day starts, nor after the day has closed (by then the
    scheduler has recorded it as missing).
    """
    at = require_instant(submitted_at, "submitted_at")
    start, end = day_bounds_utc(local_date, tz)
    if at < start:
        raise ValidationFailed("is before the report's local date begins", "report_date")
    if at >= end:
        raise FailedPrecondition("the report's local day has closed", "report_date")
    return ReportStatus.ON_TIME if at <= deadline_utc(local_date, tz, policy.deadline) else ReportStatus.LATE


def dates_to_mark_missing(now: datetime, tz: ZoneInfo, last_closed_date: date) -> list[date]:
    """Local dates after ``last_closed_date`` whose whole day (to local midnight) lies before ``now``.

    The scheduler runs this per branch time zone, records missing reports for those dates and
    then stores the last returned date as its new ``last_closed_date``.
    """
    _require_date(last_closed_date, "last_closed_date")
    today = local_report_date(now, tz)
    count = (today - last_closed_date).days - 1
    return [last_closed_date + timedelta(days=i) for i in range(1, count + 1)]


def is_report_day(local_date: date, policy: ReportPolicy = ReportPolicy()) -> bool:
    return local_date.weekday() in policy.report_weekdays


def reps_missing_report(
    local_date: date,
    expected_rep_ids: Iterable[str],
    submitted_rep_ids: Iterable[str],
    policy: ReportPolicy = ReportPolicy(),
) -> list[str]:
    """Reps owed a missing record for a closed day (none on days that need no report)."""
    if not is_report_day(local_date, policy):
        return []
    submitted = set(submitted_rep_ids)
    return sorted(set(expected_rep_ids) - submitted)


def _require_date(value: object, field_name: str) -> None:
    # datetime subclasses date; a datetime here is almost always a unit mix-up.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationFailed("must be a date", field_name)


# --- reports ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportContent:
    summary: str
    visit_ids: tuple[str, ...]
    tomorrow_plan: str | None
    problems: str | None


def validate_report_content(
    *,
    summary: str,
    visit_ids: Iterable[str] = (),
    tomorrow_plan: str | None = None,
    problems: str | None = None,
) -> ReportContent:
    """Summary is required; visits are references to the day's check-in visits (deduplicated)."""
    v = Violations()
    clean_summary = v.text(summary, "summary", max_length=MAX_SUMMARY_LENGTH, required=True)
    plan = v.text(tomorrow_plan, "tomorrow_plan", max_length=MAX_PLAN_LENGTH, required=False)
    clean_problems = v.text(problems, "problems", max_length=MAX_PROBLEMS_LENGTH, required=False)
    visits: list[str] = []
    for raw in visit_ids:
        visit = v.identifier(raw, "visit_ids", required=True)
        if visit is not None and visit not in visits:
            visits.append(visit)
    if len(visits) > MAX_VISITS:
        v.add("visit_ids", f"at most {MAX_VISITS} visits")
    v.raise_if_any()
    assert clean_summary is not None
    return ReportContent(clean_summary, tuple(visits), plan, clean_problems)


@dataclass(frozen=True)
class DailyReport:
    """A rep's report for one local date, or the missing record standing in for it."""

    report_id: str
    rep_id: str
    report_date: date
    time_zone: str
    status: ReportStatus
    content: ReportContent | None
    submitted_at: datetime | None
    recorded_at: datetime
    falsified: bool = False
    falsified_by: str | None = None
    falsified_comment: str | None = None
    falsified_at: datetime | None = None
    org_path: str = ""  # the rep's: the report's scope
    version: int = 1


def submit_report(
    *,
    report_id: str,
    rep_id: str,
    report_date: date,
    content: ReportContent,
    submitted_at: datetime,
    tz: ZoneInfo,
    existing: DailyReport | None,
    policy: ReportPolicy = ReportPolicy(),
) -> DailyReport:
    """File the report; ``existing`` is whatever is already stored for this rep and date."""
    v = Violations()
    rid = v.identifier(report_id, "report_id", required=True)
    rep = v.identifier(rep_id, "rep_id", required=True)
    v.raise_if_any()
    assert rid is not None and rep is not None
    if existing is not None:
        if existing.status is ReportStatus.MISSING:
            raise FailedPrecondition("the day was closed and recorded as missing", "report_date")
        raise Conflict("a report for this date already exists", "report_date")
    status = classify_submission(submitted_at, report_date, tz, policy)
    at = require_instant(submitted_at, "submitted_at")
    return DailyReport(
        report_id=rid,
        rep_id=rep,
        report_date=report_date,
        time_zone=tz.key,
        status=status,
        content=content,
        submitted_at=at,
        recorded_at=at,
    )


def missing_report(*, report_id: str, rep_id: str, report_date: date, tz: ZoneInfo, now: datetime) -> DailyReport:
    """The scheduler's record for a report never filed; only once the local day has ended."""
    at = require_instant(now, "now")
    v = Violations()
    rid = v.identifier(report_id, "report_id", required=True)
    rep = v.identifier(rep_id, "rep_id", required=True)
    v.raise_if_any()
    assert rid is not None and rep is not None
    _, end = day_bounds_utc(report_date, tz)
    if at < end:
        raise FailedPrecondition("the report's local day has not ended yet", "report_date")
    return DailyReport(
        report_id=rid,
        rep_id=rep,
        report_date=report_date,
        time_zone=tz.key,
        status=ReportStatus.MISSING,
        content=None,
        submitted_at=None,
        recorded_at=at,
    )


def mark_falsified(
    report: DailyReport, *, manager_id: str, comment: str, rep_in_scope: bool, now: datetime
) -> DailyReport:
    """A manager flags a filed report as untruthful (虚报).

    ``rep_in_scope`` is the caller's verdict that the report's rep is in the manager's scope;
    nobody marks his own report.
    """
    at = require_instant(now, "now")
    v = Violations()
    clean_comment = v.text(comment, "comment", max_length=MAX_COMMENT_LENGTH, required=True)
    v.raise_if_any()
    if manager_id == report.rep_id or not rep_in_scope:
        raise PermissionDenied("only a manager of the rep can mark a report falsified", "manager_id")
    if report.status is ReportStatus.MISSING:
        raise FailedPrecondition("a missing report cannot be falsified", "report_id")
    if report.falsified:
        raise Conflict("the report is already marked falsified", "report_id")
    return replace(report, falsified=True, falsified_by=manager_id, falsified_comment=clean_comment, falsified_at=at)


# --- policy ledger and compliance --------------------------------------------------------------
