"""Cost of sale and the expense-to-collection ratio over the caller's scope (analytics:read), as a
report and as an export table. Needs only the use cases' scope resolution, so it is imported by
them (the export registry) without importing them back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from salesgrid_analytics.domain.exports import Cell
from salesgrid_analytics.domain.expenses import CostBy, CostLine, cost_of_sale, parse_by
from salesgrid_common.auth.principal import Principal

if TYPE_CHECKING:
    from salesgrid_analytics.usecases import AnalyticsUseCases, Query, View

READ = "analytics:read"


async def cost_of_sale_report(
    uc: AnalyticsUseCases, principal: Principal, query: Query
) -> tuple[View, CostBy, tuple[CostLine, ...], CostLine]:
    by = parse_by(query.by)  # before loading anything: a bad `by` is named at once
    view, facts = await uc._resolved(principal, READ, query)  # the same scope resolution as every report
    lines, total = cost_of_sale(
        facts, by=by, period=view.period, tz=view.tz, currency=view.currency, selection=view.selection
    )
    return view, by, lines, total


async def cost_of_sale_table(
    uc: AnalyticsUseCases, principal: Principal, query: Query
) -> tuple[list[str], list[list[Cell]]]:
    """The report's lines, then the total (key "total"); ratios as text, since the writers round
    decimals to cents and a ratio such as 0.0050 would read 0.01."""
    _, by, lines, total = await cost_of_sale_report(uc, principal, query)

    def row(key: str, line: CostLine) -> list[Cell]:
        return [key, line.expenses, line.claims, line.collected, None if line.ratio is None else str(line.ratio)]

    rows = [row(line.key, line) for line in lines]
    rows.append(row("total", total))
    return [by.value, "expenses", "claims", "collected", "ratio"], rows
