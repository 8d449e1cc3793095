"""Forecast vs target: won business plus the probability-weighted open pipeline, per close month.

As of `now`: an open opportunity contributes its weight (`salesgrid_common.weighted_pipeline`, the
definition pipeline's forecast uses too: amount × its current stage's probability in its own stage
model) to the month of its expected close date; a won one contributes its amount to the month it
was won. Only opportunities in the report currency count; `stage_model` narrows to one model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from salesgrid_common.weighted_pipeline import weighted_pipeline

from .errors import ValidationFailed
from .facts import Fact, Selection
from .money import CENT, ratio, validate_currency
from .opportunities import Timeline, build_timelines
from .periods import Period, PeriodKind, month_containing, month_of
from .stages import WON, StageModel


@dataclass(frozen=True)
class ForecastRow:
    period: Period  # a month, or the whole requested period for the total
    won: Decimal
    weighted_pipeline: Decimal
    forecast: Decimal  # won + weighted pipeline
    target: Decimal | None
    gap: Decimal | None  # target − forecast (negative when ahead)
    coverage: Decimal | None  # forecast / target


@dataclass(frozen=True)
class ForecastReport:
    months: tuple[ForecastRow, ...]
    total: ForecastRow


def forecast_vs_target(
    facts: Iterable[Fact],
    *,
    period: Period,
    tz: ZoneInfo,
    currency: str,
    now: datetime,
    targets: Mapping[Period, Decimal],
    models: Mapping[str, StageModel],
    selection: Selection = Selection(),
    stage_model: str = "",
) -> ForecastReport:
    """`targets` maps months to the contract-amount target of the selection (missing = no target)."""
    currency = validate_currency(currency)
    if now.utcoffset() is None:
        raise ValidationFailed("must be timezone-aware", "now")
    for key in targets:
        if key.kind is not PeriodKind.MONTH:
            raise ValidationFailed(f"{key.label} is not a month", "targets")
    won = {m: Decimal("0.00") for m in period.months()}
    weighted: dict[Period, list[tuple[Decimal, int]]] = {m: [] for m in period.months()}
    for line in build_timelines(facts, until=now).values():
        if not selection.covers(line.owner_id, line.org_path) or line.currency != currency or line.amount is None:
            continue
        if stage_model and line.stage_model != stage_model:
            continue
        stage = line.stage_at(now)
        if stage == WON and line.outcome is not None:
            month = month_of(line.outcome[0], tz)
            if month in won:
                won[month] += line.amount
        elif stage is not None and line.outcome is None and line.expected_close is not None:
            month = month_containing(line.expected_close)
            if month in weighted:
                weighted[month].append((line.amount, probability(line, stage, models)))
    rows = tuple(_row(m, won[m], weighted_pipeline(weighted[m], CENT), targets.get(m)) for m in period.months())
    has_target = any(m in targets for m in period.months())
    total_target = sum((targets.get(m, Decimal(0)) for m in period.months()), Decimal(0)) if has_target else None
    total = _row(
        period,
        sum((r.won for r in rows), Decimal("0.00")),
        sum((r.weighted_pipeline for r in rows), Decimal("0.00")),
        total_target,
    )
    return ForecastReport(rows, total)


def probability(line: Timeline, stage: str, models: Mapping[str, StageModel]) -> int:
    """The stage's probability in the opportunity's model as pipeline last published it; the one
    published with the opportunity's latest stage event while the model itself is not known."""
    model = models.get(line.stage_model)
    known = model.probability(stage) if model is not None else None
    if known is not None:
        return known
    return line.probability or 0


def _row(period: Period, won: Decimal, weighted: Decimal, target: Decimal | None) -> ForecastRow:
    forecast = won + weighted
    return ForecastRow(
        period=period,
        won=won,
        weighted_pipeline=weighted,
        forecast=forecast,
        target=target,
        gap=target - forecast if target is not None else None,
        coverage=ratio(forecast, target) if target is not None else None,
    )
