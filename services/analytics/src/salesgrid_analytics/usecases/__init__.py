"""Analytics use cases: resolve the caller's scope and the query, load stored facts, run the reducers."""

from __future__ import annotations

from salesgrid_analytics.usecases.reports import Dashboard, ReportsMixin
from salesgrid_analytics.usecases.targets import TARGETS_READ, TARGETS_UPDATE, TargetSpec, TargetsMixin
from salesgrid_analytics.usecases.exports import ExportsMixin, _REPORTS
from salesgrid_analytics.usecases._support import DEFAULT_CURRENCY, EXPORT, Query, READ, View, domain_scope
from salesgrid_analytics.usecases.expenses import cost_of_sale_report, cost_of_sale_table


class AnalyticsUseCases(ReportsMixin, TargetsMixin, ExportsMixin):
    """Every use case of the service: one mixin per topic, the shared helpers in _support."""


__all__ = [
    "DEFAULT_CURRENCY",
    "Dashboard",
    "EXPORT",
    "Query",
    "READ",
    "TARGETS_READ",
    "TARGETS_UPDATE",
    "TargetSpec",
    "View",
    "_REPORTS",
    "domain_scope",
    "AnalyticsUseCases",
    "cost_of_sale_report",
    "cost_of_sale_table",
]
