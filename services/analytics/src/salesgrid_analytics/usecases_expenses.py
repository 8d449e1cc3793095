"""Cost of sale and the expense-to-collection ratio over the caller's scope (analytics:read)."""
from __future__ import annotations

from salesgrid_analytics.domain.expenses import CostBy, CostLine, cost_of_sale, parse_by
from salesgrid_analytics.usecases import READ, AnalyticsUseCases, Query, View
from salesgrid_common.auth import Principal


async def cost_of_sale_report(uc: AnalyticsUseCases, principal: Principal,
                              query: Query) -> tuple[View, CostBy, tuple[CostLine, ...], CostLine]:
    by = parse_by(query.by)  # before loading anything: a bad `by` is named at once
    view, facts = await uc._resolved(principal, READ, query)  # the same scope resolution as every report
    lines, total = cost_of_sale(facts, by=by, period=view.period, tz=view.tz, currency=view.currency,
                                selection=view.selection)
    return view, by, lines, total
