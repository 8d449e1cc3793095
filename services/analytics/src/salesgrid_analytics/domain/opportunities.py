"""Per-opportunity timelines folded from opportunity facts, the basis of funnel and forecast.

Everything is derived from timestamps (never arrival order): stage entries sorted by time, the
latest amount by time, the latest outcome by time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from .facts import (
    Fact,
    OpportunityCreated,
    OpportunityLost,
    OpportunityUpdated,
    OpportunityWon,
    StageChanged,
    unique_facts,
)
from .stages import DEFAULT_MODEL, LOST, WON


@dataclass(frozen=True)
class StageStay:
    stage: str
    entered_at: datetime
    left_at: datetime | None  # None while still in the stage

    @property
    def duration(self) -> timedelta | None:
        return self.left_at - self.entered_at if self.left_at is not None else None


@dataclass
class Timeline:
    opportunity_id: str
    owner_id: str
    org_path: str
    amount: Decimal | None = None
    currency: str | None = None
    expected_close: date | None = None
    entries: list[tuple[datetime, str]] = field(default_factory=list)
    outcome: tuple[datetime, str] | None = None  # (when, WON or LOST)
    stage_model: str = DEFAULT_MODEL  # the pipeline stage model the opportunity follows
    probability: int | None = None  # of the latest stage entered, as published with it

    def stays(self) -> tuple[StageStay, ...]:
        """Consecutive stays; each ends when the next stage or the outcome begins."""
        ends = [at for at, _ in self.entries[1:]] + [self.outcome[0] if self.outcome else None]
        return tuple(StageStay(stage, at, end) for (at, stage), end in zip(self.entries, ends))

    def stage_at(self, instant: datetime) -> str | None:
        """Open stage, WON or LOST at `instant`; None before the opportunity existed."""
        if self.outcome is not None and self.outcome[0] <= instant:
            return self.outcome[1]
        current = None
        for at, stage in self.entries:
            if at > instant:
                break
            current = stage
        return current

    def entered(self, stage: str) -> datetime | None:
        """When the opportunity first entered `stage` (WON counts as a stage)."""
        if stage == WON:
            return self.outcome[0] if self.outcome and self.outcome[1] == WON else None
        return next((at for at, s in self.entries if s == stage), None)


def build_timelines(facts: Iterable[Fact], until: datetime | None = None) -> dict[str, Timeline]:
    """Fold opportunity facts (deduplicated, time-ordered) into timelines, optionally up to `until`."""
    timelines: dict[str, Timeline] = {}
    for fact in unique_facts(facts):
        if until is not None and fact.occurred_at > until:
            break
        if not isinstance(
            fact, (OpportunityCreated, OpportunityUpdated, StageChanged, OpportunityWon, OpportunityLost)
        ):
            continue
        line = timelines.get(fact.opportunity_id)
        if line is None:
            line = timelines[fact.opportunity_id] = Timeline(fact.opportunity_id, fact.owner_id, fact.org_path)
        if isinstance(fact, OpportunityCreated):
            # Creation fixes whose opportunity it is, even if another fact arrived earlier.
            line.owner_id, line.org_path = fact.owner_id, fact.org_path
            line.entries.append((fact.occurred_at, fact.stage))
            line.stage_model, line.probability = fact.stage_model, fact.probability
        if isinstance(fact, (OpportunityCreated, OpportunityUpdated)):
            # Facts come in time order, so the last assignment is the latest value.
            line.amount, line.currency, line.expected_close = fact.amount, fact.currency, fact.expected_close
        elif isinstance(fact, StageChanged):
            line.entries.append((fact.occurred_at, fact.to_stage))
            line.stage_model, line.probability = fact.stage_model, fact.probability
        else:
            line.outcome = (fact.occurred_at, WON if isinstance(fact, OpportunityWon) else LOST)
    return timelines
