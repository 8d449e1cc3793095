"""Thin gRPC servicer: proto ↔ use case translation, nothing else. Decimals travel as strings."""

from __future__ import annotations

from decimal import Decimal

import grpc

from salesgrid.analytics.v1 import analytics_pb2 as pb
from salesgrid.analytics.v1 import analytics_pb2_grpc as pb_grpc
from salesgrid_analytics.domain.forecast import ForecastRow
from salesgrid_analytics.domain.funnel import FunnelReport
from salesgrid_analytics.domain.attainment import AttainmentRow
from salesgrid_analytics.domain.performance import ComplianceRow, PerformanceRow, RankedEntry
from salesgrid_analytics.domain.targets import Target
from salesgrid_analytics.factstore import platform_path
from salesgrid_analytics.domain.expenses import CostLine
from salesgrid_analytics.usecases import AnalyticsUseCases, Query, TargetSpec
from salesgrid_analytics.domain.channels import ChannelLine
from salesgrid_analytics.usecases.channels import channel_report
from salesgrid_analytics.usecases.expenses import cost_of_sale_report
from salesgrid_common.auth.principal import caller


def _text(value: Decimal | int | None) -> str:
    return "" if value is None else str(value)


def _query(request: pb.AnalyticsQuery) -> Query:
    return Query(
        period=request.period.strip(),
        subtree=request.subtree.strip(),
        rep_id=request.rep_id.strip(),
        currency=request.currency.strip(),
        time_zone=request.time_zone.strip(),
        group_depth=request.group_depth,
        by=request.by.strip(),
        limit=request.limit,
        from_period=request.from_period.strip(),
        to_period=request.to_period.strip(),
        metric=request.metric.strip(),
        stage_model=request.stage_model.strip(),
    )


def _spec(message: pb.AnalyticsTarget) -> TargetSpec:
    return TargetSpec(
        metric=message.metric.strip(),
        period=message.period.strip(),
        org_path=message.org_path.strip(),
        rep_id=message.rep_id.strip(),
        amount=message.amount.strip(),
        currency=message.currency.strip().upper(),
    )


def target_pb(target: Target, row: AttainmentRow | None = None) -> pb.AnalyticsTarget:
    return pb.AnalyticsTarget(
        metric=target.metric.value,
        period=target.period.label,
        org_path=platform_path(target.holder.org_path),
        rep_id=target.holder.rep_id or "",
        amount=str(target.amount),
        currency=target.currency or "",
        actual=_text(row.actual) if row else "",
        attainment=_text(row.attainment) if row else "",
    )


def line_pb(row: PerformanceRow) -> pb.PerformanceLine:
    return pb.PerformanceLine(
        **{
            name: _text(value) if isinstance(value, Decimal) or value is None else value
            for name, value in vars(row).items()
        }
    )


def compliance_pb(row: ComplianceRow) -> pb.ComplianceLine:
    return pb.ComplianceLine(
        key=row.key,
        on_time=row.on_time,
        late=row.late,
        missing=row.missing,
        falsified=row.falsified,
        due=row.due,
        compliance=_text(row.compliance),
    )


def entry_pb(entry: RankedEntry) -> pb.LeaderboardEntry:
    return pb.LeaderboardEntry(rank=entry.rank, key=entry.key, value=str(entry.value))


def forecast_pb(row: ForecastRow) -> pb.ForecastMonth:
    return pb.ForecastMonth(
        period=row.period.label,
        won=str(row.won),
        weighted_pipeline=str(row.weighted_pipeline),
        forecast=str(row.forecast),
        target=_text(row.target),
        gap=_text(row.gap),
        coverage=_text(row.coverage),
    )


def funnel_pb(report: FunnelReport, models: tuple[str, ...] = ()) -> pb.FunnelResponse:
    stages = [
        pb.FunnelStageStats(
            stage=s.stage,
            entered=s.entered,
            amount=str(s.amount),
            advanced=s.advanced,
            conversion=_text(s.conversion),
            average_hours=s.average_time.total_seconds() / 3600 if s.average_time is not None else 0.0,
            has_average=s.average_time is not None,
        )
        for s in report.stages
    ]
    return pb.FunnelResponse(
        period=report.period.label,
        subtree=platform_path(report.subtree),
        currency=report.currency,
        stages=stages,
        won=report.won,
        lost=report.lost,
        won_amount=str(report.won_amount),
        win_rate=_text(report.win_rate),
        stage_model=report.model_code,
        stage_model_version=report.stage_model.version if report.stage_model else 0,
        stage_models=list(models),
    )


def channel_line_pb(line: ChannelLine) -> pb.ChannelPerformanceLine:
    return pb.ChannelPerformanceLine(
        rank=line.rank,
        key=line.key,
        channel=line.channel,
        contract_amount=str(line.contract_amount),
        contracts=line.contracts,
        collected=str(line.collected),
        won=line.won,
        lost=line.lost,
        win_rate="" if line.win_rate is None else str(line.win_rate),
    )


def cost_line_pb(line: CostLine) -> pb.CostOfSaleLine:
    return pb.CostOfSaleLine(
        key=line.key,
        expenses=str(line.expenses),
        claims=line.claims,
        collected=_text(line.collected),
        ratio=_text(line.ratio),
    )


class AnalyticsServicer(pb_grpc.AnalyticsServicer):
    def __init__(self, usecases: AnalyticsUseCases) -> None:
        self.uc = usecases

    async def SetTargets(
        self, request: pb.SetTargetsRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetTargetsResponse:
        targets, difference = await self.uc.set_targets(
            caller(), _spec(request.parent), [_spec(c) for c in request.children], request.mode.strip()
        )
        return pb.SetTargetsResponse(targets=[target_pb(t) for t in targets], difference=_text(difference))

    async def ListTargets(
        self, request: pb.ListTargetsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListTargetsResponse:
        rows = await self.uc.list_targets(
            caller(), request.subtree.strip(), request.metric.strip(), request.period.strip(), request.time_zone.strip()
        )
        return pb.ListTargetsResponse(targets=[target_pb(r.target, r) for r in rows])

    async def GetFunnel(self, request: pb.AnalyticsQuery, context: grpc.aio.ServicerContext) -> pb.FunnelResponse:
        _, report, models = await self.uc.funnel(caller(), _query(request))
        return funnel_pb(report, models)

    async def GetPerformance(
        self, request: pb.AnalyticsQuery, context: grpc.aio.ServicerContext
    ) -> pb.PerformanceResponse:
        view, rows = await self.uc.performance(caller(), _query(request))
        return pb.PerformanceResponse(period=view.period.label, currency=view.currency, rows=[line_pb(r) for r in rows])

    async def GetLeaderboard(
        self, request: pb.AnalyticsQuery, context: grpc.aio.ServicerContext
    ) -> pb.LeaderboardResponse:
        by, entries = await self.uc.leaderboard(caller(), _query(request))
        return pb.LeaderboardResponse(by=by, entries=[entry_pb(e) for e in entries])

    async def GetForecast(self, request: pb.AnalyticsQuery, context: grpc.aio.ServicerContext) -> pb.ForecastResponse:
        view, report = await self.uc.forecast(caller(), _query(request))
        return pb.ForecastResponse(
            currency=view.currency, months=[forecast_pb(m) for m in report.months], total=forecast_pb(report.total)
        )

    async def GetDashboard(self, request: pb.AnalyticsQuery, context: grpc.aio.ServicerContext) -> pb.DashboardResponse:
        board = await self.uc.dashboard(caller(), _query(request))
        return pb.DashboardResponse(
            period=board.view.period.label,
            subtree=board.view.subtree,
            totals=[line_pb(r) for r in board.totals],
            units=[line_pb(r) for r in board.units],
            top_reps=[entry_pb(e) for e in board.top_reps],
            funnel=funnel_pb(board.funnel),
            forecast=forecast_pb(board.forecast),
            targets=[target_pb(r.target, r) for r in board.targets],
            new_users=[pb.UnitUserCount(org_path=path, new_users=count) for path, count in board.new_users],
        )

    async def GetCompliance(
        self, request: pb.AnalyticsQuery, context: grpc.aio.ServicerContext
    ) -> pb.ComplianceResponse:
        view, rows, total = await self.uc.compliance(caller(), _query(request))
        return pb.ComplianceResponse(
            period=view.period.label, rows=[compliance_pb(r) for r in rows], total=compliance_pb(total)
        )

    async def GetTrend(self, request: pb.AnalyticsQuery, context: grpc.aio.ServicerContext) -> pb.TrendResponse:
        view, metric, points = await self.uc.trend(caller(), _query(request))
        return pb.TrendResponse(
            metric=metric.value,
            currency=view.currency if metric.is_money else "",
            points=[pb.TrendPoint(period=p.month.label, value=str(p.value)) for p in points],
        )

    async def ExportReport(
        self, request: pb.ExportReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExportReportResponse:
        content, content_type, filename = await self.uc.export(
            caller(), request.report.strip(), request.format.strip().lower(), _query(request.query)
        )
        return pb.ExportReportResponse(content=content, content_type=content_type, filename=filename)

    async def GetCostOfSale(
        self, request: pb.AnalyticsQuery, context: grpc.aio.ServicerContext
    ) -> pb.CostOfSaleResponse:
        view, by, lines, total = await cost_of_sale_report(self.uc, caller(), _query(request))
        return pb.CostOfSaleResponse(
            period=view.period.label,
            currency=view.currency,
            by=by.value,
            lines=[cost_line_pb(line) for line in lines],
            total=cost_line_pb(total),
        )

    async def GetChannelPerformance(
        self, request: pb.AnalyticsQuery, context: grpc.aio.ServicerContext
    ) -> pb.ChannelPerformanceResponse:
        view, by, lines, total = await channel_report(self.uc, caller(), _query(request))
        return pb.ChannelPerformanceResponse(
            period=view.period.label,
            currency=view.currency,
            by=by.value,
            lines=[channel_line_pb(line) for line in lines],
            total=channel_line_pb(total),
        )
