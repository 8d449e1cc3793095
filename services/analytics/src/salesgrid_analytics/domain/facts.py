"""Event facts: the plain data analytics keeps from the other services' events.

Handlers translate each consumed event envelope + payload into one fact. Every fact carries the
event id (for idempotency), when it happened, the record owner and the owner's org path (for scope).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from . import orgpath
from .errors import Conflict, ValidationFailed
from .money import money, validate_currency
from .stages import DEFAULT_MODEL


def _require_text(value: str, field: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed("must not be blank", field)


@dataclass(frozen=True, kw_only=True)
class Fact:
    event_id: str
    occurred_at: datetime
    owner_id: str
    org_path: str

    def __post_init__(self) -> None:
        _require_text(self.event_id, "event_id")
        _require_text(self.owner_id, "owner_id")
        if not isinstance(self.occurred_at, datetime) or self.occurred_at.utcoffset() is None:
            raise ValidationFailed("must be a timezone-aware datetime", "occurred_at")
        object.__setattr__(self, "org_path", orgpath.normalize(self.org_path))


@dataclass(frozen=True, kw_only=True)
class _MoneyFact(Fact):
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "amount", money(self.amount))
        validate_currency(self.currency)


@dataclass(frozen=True, kw_only=True)
class _OpportunityFact(Fact):
    opportunity_id: str

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_text(self.opportunity_id, "opportunity_id")


@dataclass(frozen=True, kw_only=True)
class OpportunityCreated(_OpportunityFact):
    stage: str
    amount: Decimal
    currency: str
    expected_close: date
    stage_model: str = DEFAULT_MODEL  # the code of the pipeline stage model it follows
    probability: int | None = None  # the stage's probability as pipeline published it
    channel: str = "direct"  # the sales channel (销售渠道) and partner it is attributed to
    partner_id: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_text(self.stage, "stage")
        object.__setattr__(self, "amount", money(self.amount))
        validate_currency(self.currency)


@dataclass(frozen=True, kw_only=True)
class OpportunityUpdated(_OpportunityFact):
    """Amount or expected close date changed; the latest by occurred_at wins."""

    amount: Decimal
    currency: str
    expected_close: date

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "amount", money(self.amount))
        validate_currency(self.currency)


@dataclass(frozen=True, kw_only=True)
class StageChanged(_OpportunityFact):
    """Moved from `from_stage` to `to_stage` at `occurred_at`."""

    from_stage: str
    to_stage: str
    stage_model: str = DEFAULT_MODEL
    probability: int | None = None  # of `to_stage`, as pipeline published it

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_text(self.from_stage, "from_stage")
        _require_text(self.to_stage, "to_stage")


@dataclass(frozen=True, kw_only=True)
class OpportunityWon(_OpportunityFact):
    pass


@dataclass(frozen=True, kw_only=True)
class OpportunityLost(_OpportunityFact):
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ContractSigned(_MoneyFact):
    contract_id: str
    channel: str = "direct"
    partner_id: str = ""


@dataclass(frozen=True, kw_only=True)
class ReceiptRecorded(_MoneyFact):
    """A payment (回款) received against a contract; owner is the contract's owner, channel and
    partner the contract's."""

    contract_id: str
    channel: str = "direct"
    partner_id: str = ""


@dataclass(frozen=True, kw_only=True)
class CustomerCreated(Fact):
    customer_id: str


@dataclass(frozen=True, kw_only=True)
class FollowUpLogged(Fact):
    customer_id: str


@dataclass(frozen=True, kw_only=True)
class CheckInRecorded(Fact):
    """A visit check-in; `flagged` when too far from the customer's address."""

    customer_id: str
    flagged: bool = False


class ReportTiming(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"


@dataclass(frozen=True, kw_only=True)
class DailyReportSubmitted(Fact):
    """`report_date` is the branch-local working day the report is for."""

    report_date: date
    timing: ReportTiming

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.timing, ReportTiming):
            raise ValidationFailed(f"must be on_time or late, got {self.timing!r}", "timing")


@dataclass(frozen=True, kw_only=True)
class DailyReportMissing(Fact):
    report_date: date


@dataclass(frozen=True, kw_only=True)
class DailyReportFalsified(Fact):
    """A report found false (虚报) by its manager."""

    report_date: date


@dataclass(frozen=True, kw_only=True)
class SlaOverdue(_OpportunityFact):
    stage: str


@dataclass(frozen=True, kw_only=True)
class GateViolated(_OpportunityFact):
    """An attempt to advance without the gate's required data (虚假推进)."""

    stage: str


def unique_facts(facts: Iterable[Fact]) -> tuple[Fact, ...]:
    """Drop redelivered duplicates and put facts in time order (ties by event id).

    Sorting here is what makes every projection independent of arrival order. Two different
    facts under one event id mean a producer bug, so they raise instead of picking one.
    """
    by_id: dict[str, Fact] = {}
    for fact in facts:
        known = by_id.get(fact.event_id)
        if known is None:
            by_id[fact.event_id] = fact
        elif known != fact:
            raise Conflict(f"event {fact.event_id} was delivered with different content", "event_id")
    return tuple(sorted(by_id.values(), key=lambda f: (f.occurred_at, f.event_id)))


@dataclass(frozen=True)
class Selection:
    """Which records a view covers: a subtree, optionally narrowed to one rep."""

    subtree: str = orgpath.ROOT
    owner_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "subtree", orgpath.normalize(self.subtree, "subtree"))

    def covers(self, owner_id: str, org_path: str) -> bool:
        if self.owner_id is not None and owner_id != self.owner_id:
            return False
        return orgpath.is_within(org_path, self.subtree)
