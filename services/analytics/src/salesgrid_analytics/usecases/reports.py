"""Reports use cases."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_analytics import factstore, stage_models
from salesgrid_analytics.domain import forecast as fc
from salesgrid_analytics.domain import orgpath
from salesgrid_analytics.domain import attainment as att
from salesgrid_analytics.domain import performance as perf
from salesgrid_analytics.domain.facts import Fact
from salesgrid_analytics.domain.funnel import FunnelReport, funnel
from salesgrid_analytics.domain.metrics import Metric, parse_metric
from salesgrid_analytics.domain.periods import Period, PeriodKind
from salesgrid_analytics.domain.stages import DEFAULT_MODEL
from salesgrid_analytics.domain.targets import Holder, Target, decompose_over_periods
from salesgrid_analytics.stores import targets as target_store
from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import NotFound, ValidationFailed

from salesgrid_analytics.usecases._support import AnalyticsUseCasesBase, Query, READ, View


@dataclass(frozen=True)
class Dashboard:
    view: View
    totals: tuple[perf.PerformanceRow, ...]
    units: tuple[perf.PerformanceRow, ...]
    top_reps: tuple[perf.RankedEntry, ...]
    funnel: FunnelReport
    forecast: fc.ForecastRow
    targets: tuple[att.AttainmentRow, ...]
    new_users: tuple[tuple[str, int], ...]


def _is_own(target: Target, view: View) -> bool:
    """The selection's own target: the rep's, or the subtree unit's (not its children's)."""
    if view.selection.owner_id:
        return target.holder.rep_id == view.selection.owner_id
    return target.holder == Holder(view.selection.subtree)


class ReportsMixin(AnalyticsUseCasesBase):
    """AnalyticsUseCases: reports."""

    async def _resolved(self, principal: Principal, permission: str, query: Query) -> tuple[View, list[Fact]]:
        async with self.sessions() as session:
            view = await self._view(session, principal, permission, query)
            return view, await self._facts(session, view)

    async def funnel(self, principal: Principal, query: Query) -> tuple[View, FunnelReport, tuple[str, ...]]:
        """The funnel of one stage model (default: pipeline's default) and every model's code."""
        async with self.sessions() as session:
            view = await self._view(session, principal, READ, query)
            models = await stage_models.load_all(session)
            if query.stage_model and query.stage_model not in models:
                raise NotFound(
                    f"stage model {query.stage_model!r} is not known (pipeline has not published it)", "stage_model"
                )
            facts = await self._facts(session, view)
        code = query.stage_model or DEFAULT_MODEL
        return (
            view,
            funnel(
                facts,
                period=view.period,
                tz=view.tz,
                currency=view.currency,
                stage_model=models.get(code),
                model_code=code,
                selection=view.selection,
            ),
            tuple(models),
        )

    async def performance(self, principal: Principal, query: Query) -> tuple[View, tuple[perf.PerformanceRow, ...]]:
        view, facts = await self._resolved(principal, READ, query)
        return view, self._performance(view, facts, query.group_depth or None)

    @staticmethod
    def _performance(view: View, facts: list[Fact], depth: int | None) -> tuple[perf.PerformanceRow, ...]:
        rows = perf.performance(
            facts, period=view.period, tz=view.tz, currency=view.currency, selection=view.selection, group_depth=depth
        )
        if depth is None:
            return rows
        return tuple(perf.PerformanceRow(**{**vars(r), "key": factstore.platform_path(r.key)}) for r in rows)

    async def compliance(
        self, principal: Principal, query: Query
    ) -> tuple[View, tuple[perf.ComplianceRow, ...], perf.ComplianceRow]:
        view, facts = await self._resolved(principal, READ, query)
        rows, total = perf.compliance(self._performance(view, facts, query.group_depth or None), view.subtree)
        return view, rows, total

    async def trend(self, principal: Principal, query: Query) -> tuple[View, Metric, tuple[att.TrendPoint, ...]]:
        if not query.metric:
            raise ValidationFailed("is required: " + ", ".join(m.value for m in Metric), "metric")
        metric = parse_metric(query.metric)
        view, facts = await self._resolved(principal, READ, query)
        currency = view.currency if metric.is_money else None
        return (
            view,
            metric,
            att.monthly_trend(
                facts, metric=metric, period=view.period, tz=view.tz, selection=view.selection, currency=currency
            ),
        )

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
        return view, fc.forecast_vs_target(
            facts,
            period=view.period,
            tz=view.tz,
            currency=view.currency,
            now=self.clock(),
            targets=targets,
            models=models,
            selection=view.selection,
            stage_model=query.stage_model,
        )

    async def _monthly_targets(self, session: AsyncSession, view: View) -> dict[Period, Decimal]:
        """Contract-amount targets of the selection per month; a quarter or year target without
        month targets is split evenly."""
        stored = {
            t.period: t
            for t in await target_store.of_holder(
                session, Metric.CONTRACT_AMOUNT, view.currency, view.subtree, view.selection.owner_id
            )
        }
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
            facts, users = await factstore.load_with_users(session, view.subtree, view.selection.owner_id)
            targets = await self._monthly_targets(session, view)
            own_targets = await self._stored_targets(
                session, view.subtree, view.selection.owner_id, "", view.period.label
            )
            models = await stage_models.load_all(session)
        depth = orgpath.depth(view.selection.subtree)
        forecast = fc.forecast_vs_target(
            facts,
            period=view.period,
            tz=view.tz,
            currency=view.currency,
            now=self.clock(),
            targets=targets,
            models=models,
            selection=view.selection,
        )
        new_users = Counter(
            u.org_path
            for u in users
            if view.period.contains(u.occurred_at, view.tz) and view.selection.covers(u.owner_id, u.org_path)
        )
        return Dashboard(
            view=view,
            totals=self._performance(view, facts, max(depth, 1)),
            units=self._performance(view, facts, depth + 1),
            top_reps=perf.leaderboard(self._performance(view, facts, None), "contract_amount", limit=5),
            funnel=funnel(
                facts,
                period=view.period,
                tz=view.tz,
                currency=view.currency,
                stage_model=models.get(DEFAULT_MODEL),
                model_code=DEFAULT_MODEL,
                selection=view.selection,
            ),
            forecast=forecast.total,
            targets=att.attainment_report(facts, [t for t in own_targets if _is_own(t, view)], tz=view.tz),
            new_users=tuple(sorted(new_users.items())),
        )
