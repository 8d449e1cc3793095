"""Helpers shared by the use-case modules of this package."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_analytics import factstore
from salesgrid_analytics.domain import orgpath
from salesgrid_analytics.domain.facts import Fact, Selection
from salesgrid_analytics.domain.metrics import parse_metric
from salesgrid_analytics.domain.money import validate_currency
from salesgrid_analytics.domain.periods import Period, parse_period, parse_span
from salesgrid_analytics.domain.scope import PrincipalScope, ScopeKind, require_subtree
from salesgrid_analytics.domain.targets import Target
from salesgrid_analytics.stores import targets as target_store
from salesgrid_analytics.stores import units
from salesgrid_common import localtime
from salesgrid_common.auth.principal import Principal
from salesgrid_common.scopes import Scope
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.errors import PermissionDenied, ValidationFailed


DEFAULT_CURRENCY = "CNY"
READ, EXPORT = "analytics:read", "analytics:export"


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


def domain_scope(principal: Principal, permission: str) -> PrincipalScope:
    """The caller's grant as the domain's scope; a team grant reads as the caller's own subtree."""
    granted = principal.require(permission)
    kind = {Scope.ALL: ScopeKind.ALL, Scope.SUBTREE: ScopeKind.SUBTREE, Scope.TEAM: ScopeKind.SUBTREE}.get(
        granted, ScopeKind.OWN
    )
    return PrincipalScope(kind, principal.subject_id, principal.org_path or "/")


def _selection(scope: PrincipalScope, subtree: str, rep_id: str) -> Selection:
    if scope.kind is ScopeKind.OWN:
        if subtree or (rep_id and rep_id != scope.user_id):
            raise PermissionDenied("you may only see your own figures", "rep_id" if rep_id else "subtree")
        return Selection(orgpath.ROOT, scope.user_id)
    unit = require_subtree(scope, subtree, "subtree") if subtree else scope.org_path
    return Selection(unit, rep_id or None)


class AnalyticsUseCasesBase:
    """What every part of AnalyticsUseCases shares: its wiring and the helpers more than one topic uses."""

    def __init__(self, sessions: SessionFactory, clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock

    async def _view(
        self, session: AsyncSession, principal: Principal, permission: str, query: Query, need_period: bool = True
    ) -> View:
        selection = _selection(domain_scope(principal, permission), query.subtree, query.rep_id)
        unit_zone, unit_currency = (
            (None, None) if query.time_zone and query.currency else await units.settings(session, selection.subtree)
        )
        # the calendar of the unit reported on, else the caller's own unit's
        zone = (
            query.time_zone
            or unit_zone
            or await localtime.unit_zone(session, principal.unit_id)
            or localtime.DEFAULT_ZONE
        )
        tz = localtime.zone(zone)
        period = self._period(query, need_period, tz)
        currency = query.currency or unit_currency or DEFAULT_CURRENCY
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
        return (
            parse_period(query.period) if query.period else Period.year(localtime.local_date(self.clock(), tz.key).year)
        )  # this year, locally

    async def _facts(self, session: AsyncSession, view: View) -> list[Fact]:
        return await factstore.load_facts(session, view.subtree, view.selection.owner_id)

    @staticmethod
    async def _stored_targets(
        session: AsyncSession, subtree: str, rep_id: str | None, metric: str, period: str
    ) -> list[Target]:
        """The targets under `subtree` (see target_store.matching), `metric` and `period` as sent
        ("" for any)."""
        return await target_store.matching(
            session,
            subtree,
            rep_id,
            parse_metric(metric) if metric else None,
            parse_period(period) if period else None,
        )
