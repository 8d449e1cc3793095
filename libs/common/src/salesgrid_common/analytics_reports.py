"""The dimensions (`by`) each analytics report accepts, in one place: the analytics service checks
a query's `by` against them and the gateway declares them (an enum on each report operation's
`by` parameter) and refuses another value before calling. A report missing here takes no `by`.

Report names are analytics' own (those of its exports: leaderboard, cost_of_sale, channels…)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from salesgrid_common.errors import ValidationFailed


class CostBy(StrEnum):
    """Cost of sale: paid expenses grouped per rep, customer or opportunity."""

    REP = "rep"
    CUSTOMER = "customer"
    OPPORTUNITY = "opportunity"


class ChannelBy(StrEnum):
    """Channel performance: per sales channel or per channel partner."""

    CHANNEL = "channel"
    PARTNER = "partner"


# The performance fields a leaderboard ranks on: analytics' PerformanceRow less its key (its tests
# check that the two agree).
RANKABLE_FIELDS = (
    "contract_amount",
    "collections",
    "new_customers",
    "follow_ups",
    "visits",
    "flagged_visits",
    "reports_on_time",
    "reports_late",
    "reports_missing",
    "reports_falsified",
    "report_compliance",
    "sla_overdue",
    "gate_violations",
    "receivables_outstanding",
)

# report -> the `by` values it accepts, the default (taken when `by` is empty) first
REPORT_BY: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "leaderboard": RANKABLE_FIELDS,
        "cost_of_sale": tuple(b.value for b in CostBy),
        "channels": tuple(b.value for b in ChannelBy),
    }
)


def accepted_by(report: str) -> tuple[str, ...]:
    """The `by` values `report` accepts (none: it takes no `by`)."""
    return REPORT_BY.get(report, ())


def parse_by(report: str, value: str) -> str:
    """`value` checked for `report` (empty: the report's default); ValidationFailed naming `by`
    and the values allowed."""
    allowed = accepted_by(report)
    if not value:
        return allowed[0] if allowed else ""
    if value not in allowed:
        if not allowed:
            raise ValidationFailed(f"the {report} report takes no by", "by")
        raise ValidationFailed(f"must be one of {', '.join(allowed)}", "by")
    return value
