"""Analytics use cases: resolve the caller's scope and the query, load stored facts, run the reducers."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_analytics import factstore, stage_models
from salesgrid_analytics.domain import exports
from salesgrid_analytics.domain import forecast as fc
from salesgrid_analytics.domain import orgpath
from salesgrid_analytics.domain import performance as perf
from salesgrid_analytics.domain.exports import Cell
from salesgrid_analytics.domain.facts import Fact, Selection
from salesgrid_analytics.domain.funnel import FunnelReport, funnel
from salesgrid_analytics.domain.metrics import Metric, parse_metric
from salesgrid_analytics.domain.money import validate_currency
from salesgrid_analytics.domain.periods import Period, PeriodKind, parse_period, parse_span
from salesgrid_analytics.domain.stages import DEFAULT_MODEL
from salesgrid_analytics.domain.scope import PrincipalScope, ScopeKind, require_subtree
from salesgrid_analytics.domain.targets import (
    DecompositionMode, Holder, Target, check_decomposition, decompose_over_periods,
)
from salesgrid_analytics.models import TargetRow
from salesgrid_analytics.usecases_expenses import cost_of_sale_table
from salesgrid_common import localtime
from salesgrid_common.auth import Principal, Scope
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.directory import directory_units
from salesgrid_common.errors import NotFound, PermissionDenied, ValidationFailed
from salesgrid_common.ids import new_id

DEFAULT_CURRENCY = "CNY"
READ, EXPORT = "analytics:read", "analytics:export"
TARGETS_READ, TARGETS_UPDATE = "targets:read", "targets:update"


@dataclass(frozen=True)
class Query:
    """What a report request asks for, as sent (empty strings for defaults)."""

    period: str
    subtree: str = ""
    rep_id: str = ""
    currency: str = ""
    time_zone: str = ""
    group_depth: int = 0
    by: str = ""
    limit: int = 0
    from_period: str = ""
    to_period: str = ""
    metric: str = ""
    stage_model: str = ""


@dataclass(frozen=True)
class View:
    """A query resolved against the caller's scope: what the reducers are run over."""

    selection: Selection
    period: Period
    tz: ZoneInfo
    currency: str

    @property
    def subtree(self) -> str:
        return factstore.platform_path(self.selection.subtree)


@dataclass(frozen=True)
class TargetSpec:
    metric: str
    period: str
    org_path: str
    rep_id: str
    amount: str
    currency: str


@dataclass(frozen=True)
class Dashboard:
    view: View
    totals: tuple[perf.PerformanceRow, ...]
    units: tuple[perf.PerformanceRow, ...]
    top_reps: tuple[perf.RankedEntry, ...]
    funnel: FunnelReport
    forecast: fc.ForecastRow
    targets: tuple[perf.AttainmentRow, ...]
    new_users: tuple[tuple[str, int], ...]


def domain_scope(principal: Principal, permission: str) -> PrincipalScope:
    """The caller's grant as the domain's scope; a team grant reads as the caller's own subtree."""
    granted = principal.require(permission)
    kind = {Scope.ALL: ScopeKind.ALL, Scope.SUBTREE: ScopeKind.SUBTREE, Scope.TEAM: ScopeKind.SUBTREE}.get(
        granted, ScopeKind.OWN)
    return PrincipalScope(kind, principal.subject_id, principal.org_path or "/")


def _selection(scope: PrincipalScope, subtree: str, rep_id: str) -> Selection:
    if scope.kind is ScopeKind.OWN:
        if subtree or (rep_id and rep_id != scope.user_id):
            raise PermissionDenied("you may only see your own figures", "rep_id" if rep_id else "subtree")
        return Selection(orgpath.ROOT, scope.user_id)
    unit = require_subtree(scope, subtree, "subtree") if subtree else scope.org_path
    return Selection(unit, rep_id or None)


def _target(spec: TargetSpec, where: str) -> Target:
    """A domain target from the request, its errors naming `where` (e.g. children[2].amount)."""
    try:
        metric = parse_metric(spec.metric)
        if not spec.amount:
            raise ValidationFailed("is required", "amount")
        holder = Holder(spec.org_path or "/", spec.rep_id or None)
        return Target(metric, parse_period(spec.period), holder, spec.amount, spec.currency or None)
    except ValidationFailed as error:
        raise ValidationFailed.many([(f"{where}.{field}" if field else where, message)
                                     for field, message in (error.violations or [("", error.message)])]) from None


def _target_of(row: TargetRow) -> Target:
    return Target(Metric(row.metric), parse_period(row.period), Holder(row.org_path, row.rep_id or None),
                  row.amount, row.currency)


def _is_own(target: Target, view: View) -> bool:
    """The selection's own target: the rep's, or the subtree unit's (not its children's)."""
    if view.selection.owner_id:
        return target.holder.rep_id == view.selection.owner_id
    return target.holder == Holder(view.selection.subtree)


class AnalyticsUseCases:
    def __init__(self, sessions: SessionFactory, clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock

    # --- resolving a query -------------------------------------------------------------------

    async def _unit_value(self, session: AsyncSession, subtree: str, column: str) -> str | None:
        unit_id = orgpath.segments(subtree)[-1] if orgpath.segments(subtree) else None
        if unit_id is None:
            return None
        return await session.scalar(select(directory_units.c[column]).where(directory_units.c.unit_id == unit_id))

    async def _view(self, session: AsyncSession, principal: Principal, permission: str, query: Query,
                    need_period: bool = True) -> View:
        selection = _selection(domain_scope(principal, permission), query.subtree, query.rep_id)
        # the calendar of the unit reported on, else the caller's own unit's
        zone = query.time_zone or await self._unit_value(session, selection.subtree, "time_zone") \
            or await localtime.unit_zone(session, principal.unit_id) or localtime.DEFAULT_ZONE
        tz = localtime.zone(zone)
        period = self._period(query, need_period, tz)
        currency = query.currency or await self._unit_value(session, selection.subtree, "currency") or DEFAULT_CURRENCY
        return View(selection, period, tz, validate_currency(currency.upper()))

    def _period(self, query: Query, need_period: bool, tz: ZoneInfo) -> Period:
        """`period`, or the range `from_period`..`to_period` (both, and not both ways at once)."""
        if query.from_period or query.to_period:
            if query.period:
                raise ValidationFailed("give either period or from/to, not both", "period")
            for field, value in (("from", query.from_period), ("to", query.to_period)):
                if not value:
                    raise ValidationFailed("is required with a range, e.g. from=2026-04&to=2026-06", field)
            return parse_span(query.from_period, query.to_period)
        if not query.period and need_period:
            raise ValidationFailed("is required, e.g. 2026, 2026-Q3 or 2026-07 (or from and to)", "period")
        return parse_period(query.period) if query.period else Period.year(localtime.local_date(self.clock(), tz.key).year)  # this year, locally

    async def _facts(self, session: AsyncSession, view: View) -> list[Fact]:
        rows = await factstore.load(session, view.subtree, view.selection.owner_id)
        return [fact for fact in map(factstore.to_fact, rows) if fact is not None]

    async def _resolved(self, principal: Principal, permission: str, query: Query) -> tuple[View, list[Fact]]:
        async with self.sessions() as session:
            view = await self._view(session, principal, permission, query)
            return view, await self._facts(session, view)

    # --- reports ---------------------------------------------------------------------------

    async def funnel(self, principal: Principal, query: Query) -> tuple[View, FunnelReport, tuple[str, ...]]:
        """The funnel of one stage model (default: pipeline's default) and every model's code."""
        async with self.sessions() as session:
            view = await self._view(session, principal, READ, query)
            models = await stage_models.load_all(session)
            if query.stage_model and query.stage_model not in models:
                raise NotFound(f"stage model {query.stage_model!r} is not known (pipeline has not published it)",
                               "stage_model")
            facts = await self._facts(session, view)
        code = query.stage_model or DEFAULT_MODEL
        return view, funnel(facts, period=view.period, tz=view.tz, currency=view.currency,
                            stage_model=models.get(code), model_code=code, selection=view.selection), tuple(models)

    async def performance(self, principal: Principal, query: Query) -> tuple[View, tuple[perf.PerformanceRow, ...]]:
        view, facts = await self._resolved(principal, READ, query)
        return view, self._performance(view, facts, query.group_depth or None)

    @staticmethod
    def _performance(view: View, facts: list[Fact], depth: int | None) -> tuple[perf.PerformanceRow, ...]:
        rows = perf.performance(facts, period=view.period, tz=view.tz, currency=view.currency,
                                selection=view.selection, group_depth=depth)
        if depth is None:
            return rows
        return tuple(perf.PerformanceRow(**{**vars(r), "key": factstore.platform_path(r.key)}) for r in rows)

    async def compliance(self, principal: Principal, query: Query) -> tuple[
            View, tuple[perf.ComplianceRow, ...], perf.ComplianceRow]:
        view, facts = await self._resolved(principal, READ, query)
        rows, total = perf.compliance(self._performance(view, facts, query.group_depth or None), view.subtree)
        return view, rows, total

    async def trend(self, principal: Principal, query: Query) -> tuple[View, Metric, tuple[perf.TrendPoint, ...]]:
        if not query.metric:
            raise ValidationFailed("is required: " + ", ".join(m.value for m in Metric), "metric")
        metric = parse_metric(query.metric)
        view, facts = await self._resolved(principal, READ, query)
        currency = view.currency if metric.is_money else None
        return view, metric, perf.monthly_trend(facts, metric=metric, period=view.period, tz=view.tz,
                                                selection=view.selection, currency=currency)

    async def leaderboard(self, principal: Principal, query: Query) -> tuple[str, tuple[perf.RankedEntry, ...]]:
        view, facts = await self._resolved(principal, READ, query)
        by = query.by or "contract_amount"
        rows = self._performance(view, facts, query.group_depth or None)
        return by, perf.leaderboard(rows, by, limit=query.limit or None)

    async def forecast(self, principal: Principal, query: Query) -> tuple[View, fc.ForecastReport]:
        async with self.sessions() as session:
            view = await self._view(session, principal, READ, query)
            facts = await self._facts(session, view)
            targets = await self._monthly_targets(session, view)
            models = await stage_models.load_all(session)
        return view, fc.forecast_vs_target(facts, period=view.period, tz=view.tz, currency=view.currency,
                                           now=self.clock(), targets=targets, models=models,
                                           selection=view.selection, stage_model=query.stage_model)

    async def _monthly_targets(self, session: AsyncSession, view: View) -> dict[Period, Decimal]:
        """Contract-amount targets of the selection per month; a quarter or year target without
        month targets is split evenly."""
        holder = (TargetRow.rep_id == view.selection.owner_id if view.selection.owner_id
                  else (TargetRow.org_path == view.subtree) & (TargetRow.rep_id == ""))
        rows = await session.scalars(select(TargetRow).where(
            TargetRow.metric == Metric.CONTRACT_AMOUNT.value, TargetRow.currency == view.currency, holder))
        stored = {t.period: t for t in map(_target_of, rows)}
        months: dict[Period, Decimal] = {}
        for target in sorted(stored.values(), key=lambda t: t.period.sort_key):
            shares = [target]
            while shares[0].period.kind is not PeriodKind.MONTH:
                shares = [part for share in shares for part in decompose_over_periods(share)]
            for share in shares:
                explicit = stored.get(share.period)
                months.setdefault(share.period, (explicit or share).amount)
        return months

    async def dashboard(self, principal: Principal, query: Query) -> Dashboard:
        async with self.sessions() as session:
            view = await self._view(session, principal, READ, query)
            rows = await factstore.load(session, view.subtree, view.selection.owner_id)
            facts = [fact for fact in map(factstore.to_fact, rows) if fact is not None]
            targets = await self._monthly_targets(session, view)
            target_rows = await self._stored_targets(session, view.subtree, view.selection.owner_id, "",
                                                     view.period.label)
            models = await stage_models.load_all(session)
        depth = orgpath.depth(view.selection.subtree)
        forecast = fc.forecast_vs_target(facts, period=view.period, tz=view.tz, currency=view.currency,
                                         now=self.clock(), targets=targets, models=models, selection=view.selection)
        new_users = Counter(r.org_path for r in rows if r.kind == factstore.USER_CREATED
                            and view.period.contains(r.occurred_at, view.tz)
                            and view.selection.covers(r.owner_id, r.org_path))
        return Dashboard(
            view=view,
            totals=self._performance(view, facts, max(depth, 1)),
            units=self._performance(view, facts, depth + 1),
            top_reps=perf.leaderboard(self._performance(view, facts, None), "contract_amount", limit=5),
            funnel=funnel(facts, period=view.period, tz=view.tz, currency=view.currency,
                          stage_model=models.get(DEFAULT_MODEL), model_code=DEFAULT_MODEL, selection=view.selection),
            forecast=forecast.total,
            targets=perf.attainment_report(facts, [t for t in map(_target_of, target_rows) if _is_own(t, view)],
                                           tz=view.tz),
            new_users=tuple(sorted(new_users.items())),
        )

    # --- targets ---------------------------------------------------------------------------

    async def set_targets(self, principal: Principal, parent: TargetSpec, children: Sequence[TargetSpec],
                          mode: str) -> tuple[tuple[Target, ...], Decimal | None]:
        scope = domain_scope(principal, TARGETS_UPDATE)
        top = _target(parent, "parent")
        parts = [_target(child, f"children[{i}]") for i, child in enumerate(children)]
        for where, target in [("parent", top), *((f"children[{i}]", t) for i, t in enumerate(parts))]:
            require_subtree(scope, target.holder.org_path, f"{where}.org_path")
        difference = check_decomposition(top, parts, mode or DecompositionMode.REJECT) if parts else None
        now = self.clock()
        async with self.sessions() as session, session.begin():
            for target in (top, *parts):
                await self._upsert(session, target, principal.subject_id, now)
        return (top, *parts), difference

    async def _upsert(self, session: AsyncSession, target: Target, actor: str, now: datetime) -> None:
        org_path, rep_id = factstore.platform_path(target.holder.org_path), target.holder.rep_id or ""
        row = await session.scalar(select(TargetRow).where(
            TargetRow.metric == target.metric.value, TargetRow.period == target.period.label,
            TargetRow.org_path == org_path, TargetRow.rep_id == rep_id))
        if row is None:
            session.add(TargetRow(id=new_id(), metric=target.metric.value, period=target.period.label,
                                  org_path=org_path, rep_id=rep_id, amount=target.amount, currency=target.currency,
                                  updated_at=now, updated_by=actor))
        else:
            row.amount, row.currency, row.updated_at, row.updated_by = target.amount, target.currency, now, actor

    async def _stored_targets(self, session: AsyncSession, subtree: str, rep_id: str | None, metric: str,
                              period: str) -> list[TargetRow]:
        query = select(TargetRow)
        if subtree != orgpath.ROOT:
            query = query.where(TargetRow.org_path.startswith(subtree, autoescape=True))
        if rep_id is not None:
            query = query.where(TargetRow.rep_id == rep_id)
        if metric:
            query = query.where(TargetRow.metric == parse_metric(metric).value)
        if period:
            query = query.where(TargetRow.period == parse_period(period).label)
        query = query.order_by(TargetRow.metric, TargetRow.org_path, TargetRow.rep_id, TargetRow.period)
        return list((await session.scalars(query)).all())

    async def list_targets(self, principal: Principal, subtree: str, metric: str, period: str,
                           time_zone: str) -> tuple[perf.AttainmentRow, ...]:
        async with self.sessions() as session:
            query = Query(period=period, subtree=subtree, time_zone=time_zone)
            view = await self._view(session, principal, TARGETS_READ, query, need_period=False)
            rows = await self._stored_targets(session, view.subtree, view.selection.owner_id, metric, period)
            facts = await self._facts(session, view)
        return perf.attainment_report(facts, [_target_of(r) for r in rows], tz=view.tz)

    # --- exports ---------------------------------------------------------------------------

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
            [s.stage, s.entered, s.amount, s.advanced, s.conversion,
             _hours(s.average_time.total_seconds()) if s.average_time is not None else None]
            for s in report.stages]
        return ["stage", "entered", "amount", "advanced", "conversion", "average_hours"], rows

    async def _forecast_table(self, principal: Principal, query: Query) -> tuple[list[str], list[list[Cell]]]:
        _, report = await self.forecast(principal, query)
        return (["period", "won", "weighted_pipeline", "forecast", "target", "gap", "coverage"],
                [[r.period.label, r.won, r.weighted_pipeline, r.forecast, r.target, r.gap, r.coverage]
                 for r in (*report.months, report.total)])

    async def _trend_table(self, principal: Principal, query: Query) -> tuple[list[str], list[list[Cell]]]:
        _, metric, points = await self.trend(principal, query)
        return ["month", metric.value], [[p.month.label, p.value] for p in points]

    async def _targets_table(self, principal: Principal, query: Query) -> tuple[list[str], list[list[Cell]]]:
        rows = await self.list_targets(principal, query.subtree, "", query.period, query.time_zone)
        return (["metric", "period", "org_path", "rep_id", "target", "currency", "actual", "attainment"],
                [[r.target.metric.value, r.target.period.label, factstore.platform_path(r.target.holder.org_path),
                  r.target.holder.rep_id or "", r.target.amount, r.target.currency, r.actual, r.attainment]
                 for r in rows])


def _hours(seconds: float) -> Decimal:
    return (Decimal(int(seconds)) / Decimal(3600)).quantize(Decimal("0.01"))


_FORMATS = {
    "csv": (exports.to_csv, "text/csv; charset=utf-8"),
    "xlsx": (exports.to_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}
_REPORTS = {
    "performance": AnalyticsUseCases._performance_table,
    "leaderboard": AnalyticsUseCases._leaderboard_table,
    "funnel": AnalyticsUseCases._funnel_table,
    "forecast": AnalyticsUseCases._forecast_table,
    "targets": AnalyticsUseCases._targets_table,
    "trend": AnalyticsUseCases._trend_table,
    "cost_of_sale": cost_of_sale_table,
}
