"""Exports use cases."""

from __future__ import annotations

from decimal import Decimal

from salesgrid_analytics import factstore
from salesgrid_analytics.domain import exports
from salesgrid_analytics.domain import performance as perf
from salesgrid_analytics.domain.exports import Cell
from salesgrid_analytics.usecases.channels import channel_table
from salesgrid_analytics.usecases.expenses import cost_of_sale_table
from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import ValidationFailed

from salesgrid_analytics.usecases._support import AnalyticsUseCasesBase, EXPORT, Query


def _hours(seconds: float) -> Decimal:
    return (Decimal(int(seconds)) / Decimal(3600)).quantize(Decimal("0.01"))


_FORMATS = {
    "csv": (exports.to_csv, "text/csv; charset=utf-8"),
    "xlsx": (exports.to_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


class ExportsMixin(AnalyticsUseCasesBase):
    """AnalyticsUseCases: exports."""

    async def export(self, principal: Principal, report: str, file_format: str, query: Query) -> tuple[bytes, str, str]:
        """(content, content type, file name) of one report as CSV or XLSX."""
        principal.require(EXPORT)
        if file_format not in _FORMATS:
            raise ValidationFailed(f"format must be csv or xlsx, got {file_format!r}", "format")
        builder = _REPORTS.get(report)
        if builder is None:
            raise ValidationFailed(f"report must be one of {', '.join(_REPORTS)}, got {report!r}", "report")
        header, rows = await builder(self, principal, query)
        writer, content_type = _FORMATS[file_format]
        name = f"{report}-{query.period or 'all'}.{file_format}"
        return writer(header, rows), content_type, name

    async def _performance_table(self, principal: Principal, query: Query) -> tuple[list[str], list[list[Cell]]]:
        _, rows = await self.performance(principal, query)
        header = list(perf.RANKABLE_FIELDS)
        return ["key", *header], [[r.key, *(getattr(r, name) for name in header)] for r in rows]

    async def _leaderboard_table(self, principal: Principal, query: Query) -> tuple[list[str], list[list[Cell]]]:
        by, entries = await self.leaderboard(principal, query)
        return ["rank", "key", by], [[e.rank, e.key, e.value] for e in entries]

    async def _funnel_table(self, principal: Principal, query: Query) -> tuple[list[str], list[list[Cell]]]:
        _, report, _ = await self.funnel(principal, query)
        rows: list[list[Cell]] = [
            [
                s.stage,
                s.entered,
                s.amount,
                s.advanced,
                s.conversion,
                _hours(s.average_time.total_seconds()) if s.average_time is not None else None,
            ]
            for s in report.stages
        ]
        return ["stage", "entered", "amount", "advanced", "conversion", "average_hours"], rows

    async def _forecast_table(self, principal: Principal, query: Query) -> tuple[list[str], list[list[Cell]]]:
        _, report = await self.forecast(principal, query)
        return (
            ["period", "won", "weighted_pipeline", "forecast", "target", "gap", "coverage"],
            [
                [r.period.label, r.won, r.weighted_pipeline, r.forecast, r.target, r.gap, r.coverage]
                for r in (*report.months, report.total)
            ],
        )

    async def _trend_table(self, principal: Principal, query: Query) -> tuple[list[str], list[list[Cell]]]:
        _, metric, points = await self.trend(principal, query)
        return ["month", metric.value], [[p.month.label, p.value] for p in points]

    async def _targets_table(self, principal: Principal, query: Query) -> tuple[list[str], list[list[Cell]]]:
        rows = await self.list_targets(principal, query.subtree, "", query.period, query.time_zone)
        return (
            ["metric", "period", "org_path", "rep_id", "target", "currency", "actual", "attainment"],
            [
                [
                    r.target.metric.value,
                    r.target.period.label,
                    factstore.platform_path(r.target.holder.org_path),
                    r.target.holder.rep_id or "",
                    r.target.amount,
                    r.target.currency,
                    r.actual,
                    r.attainment,
                ]
                for r in rows
            ],
        )


_REPORTS = {
    "performance": ExportsMixin._performance_table,
    "leaderboard": ExportsMixin._leaderboard_table,
    "funnel": ExportsMixin._funnel_table,
    "forecast": ExportsMixin._forecast_table,
    "targets": ExportsMixin._targets_table,
    "trend": ExportsMixin._trend_table,
    "cost_of_sale": cost_of_sale_table,
    "channels": channel_table,
}
