"""Per-unit policy overrides: the check-in radius, the report deadline and the fines.

Each unit may set any of the values; a rep gets, value by value, the one set by the nearest
unit on his org path (his own unit first, then its ancestors), else the company default."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from ._validation import Violations
from .check_ins import CheckInPolicy
from .daily_reports import ReportPolicy
from .money import is_currency_code

MAX_RADIUS_M = 100_000.0
MAX_FINE = Decimal("1000000")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class PolicyOverrides:
    """What one unit sets itself; None inherits."""

    check_in_radius_m: float | None = None
    report_deadline: time | None = None
    late_fine: Decimal | None = None
    missing_fine: Decimal | None = None
    falsified_fine: Decimal | None = None
    currency: str | None = None

    @property
    def empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


@dataclass(frozen=True)
class UnitPolicy:
    """A unit's own overrides as stored: who set them last, when, and the record's version."""

    unit_id: str
    overrides: PolicyOverrides
    updated_by: str
    updated_at: datetime
    version: int = 1


@dataclass(frozen=True)
class Policies:
    check_in: CheckInPolicy
    report: ReportPolicy


def _deadline(value: str, v: Violations) -> time | None:
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or len(value) != 5 or parsed.tzinfo is not None:
        v.add("report_deadline", "must be a local time HH:MM")
        return None
    return parsed


def _fine(value: str, name: str, v: Violations) -> Decimal | None:
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or not 0 <= amount <= MAX_FINE or amount != amount.quantize(CENT):
        v.add(name, f"must be a decimal amount between 0 and {MAX_FINE} with at most 2 decimals")
        return None
    return amount


def validate_overrides(
    *,
    check_in_radius_m: float | None = None,
    report_deadline: str | None = None,
    late_fine: str | None = None,
    missing_fine: str | None = None,
    falsified_fine: str | None = None,
    currency: str | None = None,
) -> PolicyOverrides:
    """Wire values (None: not set) checked into overrides; every bad field is named at once."""
    v = Violations()
    radius = None
    if check_in_radius_m is not None:
        if not 0 < check_in_radius_m <= MAX_RADIUS_M:
            v.add("check_in_radius_m", f"must be more than 0 and at most {MAX_RADIUS_M:.0f} metres")
        else:
            radius = float(check_in_radius_m)
    deadline = _deadline(report_deadline, v) if report_deadline is not None else None
    fines = {
        name: _fine(value, name, v) if value is not None else None
        for name, value in (
            ("late_fine", late_fine),
            ("missing_fine", missing_fine),
            ("falsified_fine", falsified_fine),
        )
    }
    if currency is not None and not is_currency_code(currency):
        v.add("currency", "must be an ISO-4217 code such as CNY")
    v.raise_if_any()
    return PolicyOverrides(check_in_radius_m=radius, report_deadline=deadline, currency=currency, **fines)


def effective_policies(
    org_path: str,
    overrides: Iterable[tuple[str, PolicyOverrides]],
    check_in: CheckInPolicy = CheckInPolicy(),
    report: ReportPolicy = ReportPolicy(),
) -> Policies:
    """The policies for someone at ``org_path`` given (unit path, overrides) pairs of any units:
    only units on the path count, applied from the root down so the nearest one wins."""
    for _, o in sorted(((path, o) for path, o in overrides if org_path.startswith(path)), key=lambda p: len(p[0])):
        if o.check_in_radius_m is not None:
            check_in = replace(check_in, radius_m=o.check_in_radius_m)
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("deadline", o.report_deadline),
                ("late_fine", o.late_fine),
                ("missing_fine", o.missing_fine),
                ("falsified_fine", o.falsified_fine),
                ("currency", o.currency),
            )
            if value is not None
        }
        if changes:
            report = replace(report, **changes)
    return Policies(check_in, report)
