"""Sales funnel (销售漏斗) for a subtree, period and stage model.

Only opportunities following the model count; its open stages are the rows, in its order. Per stage: opportunities that entered it during the period and their amount; the share of
those that went on to the next stage (the last open stage leads to won); the average time spent
in the stage over stays that began in the period and have ended. Win rate is won / (won + lost)
over outcomes in the period. Amounts count only opportunities in the report currency.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from .facts import Fact, Selection
from .money import ratio, validate_currency
from .opportunities import Timeline, build_timelines
from .periods import Period
from .stages import LOST, WON, StageModel


@dataclass(frozen=True)
class StageStats:
    stage: str
    entered: int
    amount: Decimal
    advanced: int  # of `entered`, how many reached the next stage
    conversion: Decimal | None  # advanced / entered
    average_time: timedelta | None


@dataclass(frozen=True)
class FunnelReport:
    period: Period
    subtree: str
    currency: str
    stages: tuple[StageStats, ...]
    stage_model: StageModel | None  # None: the model was never published (no stage rows)
    model_code: str
    won: int
    lost: int
    won_amount: Decimal
    win_rate: Decimal | None


def funnel(
    facts: Iterable[Fact],
    *,
    period: Period,
    tz: ZoneInfo,
    currency: str,
    stage_model: StageModel | None,
    model_code: str = "",
    selection: Selection = Selection(),
) -> FunnelReport:
    """The funnel of the opportunities following `stage_model` (or `model_code` while that model
    is not known yet: outcomes are still counted, there are no stage rows)."""
    currency = validate_currency(currency)
    code = stage_model.code if stage_model is not None else model_code
    lines = [
        t for t in build_timelines(facts).values() if t.stage_model == code and selection.covers(t.owner_id, t.org_path)
    ]
    stats = (
        tuple(_stage_stats(name, lines, period, tz, currency, stage_model) for name in stage_model.names)
        if stage_model is not None
        else ()
    )
    outcomes = [t for t in lines if t.outcome is not None and period.contains(t.outcome[0], tz)]
    won = [t for t in outcomes if t.outcome and t.outcome[1] == WON]
    lost = sum(1 for t in outcomes if t.outcome and t.outcome[1] == LOST)
    return FunnelReport(
        period=period,
        subtree=selection.subtree,
        currency=currency,
        stages=stats,
        stage_model=stage_model,
        model_code=code,
        won=len(won),
        lost=lost,
        won_amount=_amount(won, currency),
        win_rate=ratio(len(won), len(won) + lost),
    )


def _stage_stats(
    name: str, lines: list[Timeline], period: Period, tz: ZoneInfo, currency: str, model: StageModel
) -> StageStats:
    next_stage = model.next_of(name)
    entered: list[Timeline] = []
    advanced = 0
    durations: list[timedelta] = []
    for line in lines:
        first = line.entered(name)
        if first is None or not period.contains(first, tz):
            continue
        entered.append(line)
        reached = line.entered(next_stage) if next_stage else None
        if reached is not None and reached >= first:
            advanced += 1
        durations.extend(
            s.duration
            for s in line.stays()
            if s.stage == name and s.duration is not None and period.contains(s.entered_at, tz)
        )
    average = sum(durations, timedelta()) / len(durations) if durations else None
    return StageStats(name, len(entered), _amount(entered, currency), advanced, ratio(advanced, len(entered)), average)


def _amount(lines: Iterable[Timeline], currency: str) -> Decimal:
    return sum((t.amount for t in lines if t.amount is not None and t.currency == currency), Decimal("0.00"))
