"""Targets use cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from salesgrid_analytics.domain import attainment as att
from salesgrid_analytics.domain.metrics import parse_metric
from salesgrid_analytics.domain.periods import parse_period
from salesgrid_analytics.domain.scope import require_subtree
from salesgrid_analytics.domain.targets import DecompositionMode, Holder, Target, check_decomposition
from salesgrid_analytics.stores import targets as target_store
from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import ValidationFailed

from salesgrid_analytics.usecases._support import AnalyticsUseCasesBase, Query, domain_scope


TARGETS_READ, TARGETS_UPDATE = "targets:read", "targets:update"


@dataclass(frozen=True)
class TargetSpec:
    metric: str
    period: str
    org_path: str
    rep_id: str
    amount: str
    currency: str


def _target(spec: TargetSpec, where: str) -> Target:
    """A domain target from the request, its errors naming `where` (e.g. children[2].amount)."""
    try:
        metric = parse_metric(spec.metric)
        if not spec.amount:
            raise ValidationFailed("is required", "amount")
        holder = Holder(spec.org_path or "/", spec.rep_id or None)
        return Target(metric, parse_period(spec.period), holder, spec.amount, spec.currency or None)
    except ValidationFailed as error:
        raise ValidationFailed.many(
            [
                (f"{where}.{field}" if field else where, message)
                for field, message in (error.violations or [("", error.message)])
            ]
        ) from None


class TargetsMixin(AnalyticsUseCasesBase):
    """AnalyticsUseCases: targets."""

    async def set_targets(
        self, principal: Principal, parent: TargetSpec, children: Sequence[TargetSpec], mode: str
    ) -> tuple[tuple[Target, ...], Decimal | None]:
        scope = domain_scope(principal, TARGETS_UPDATE)
        top = _target(parent, "parent")
        parts = [_target(child, f"children[{i}]") for i, child in enumerate(children)]
        for where, target in [("parent", top), *((f"children[{i}]", t) for i, t in enumerate(parts))]:
            require_subtree(scope, target.holder.org_path, f"{where}.org_path")
        difference = check_decomposition(top, parts, mode or DecompositionMode.REJECT) if parts else None
        now = self.clock()
        async with self.sessions() as session, session.begin():
            for target in (top, *parts):
                await target_store.save(session, target, principal.subject_id, now)
        return (top, *parts), difference

    async def list_targets(
        self, principal: Principal, subtree: str, metric: str, period: str, time_zone: str
    ) -> tuple[att.AttainmentRow, ...]:
        async with self.sessions() as session:
            query = Query(period=period, subtree=subtree, time_zone=time_zone)
            view = await self._view(session, principal, TARGETS_READ, query, need_period=False)
            targets = await self._stored_targets(session, view.subtree, view.selection.owner_id, metric, period)
            facts = await self._facts(session, view)
        return att.attainment_report(facts, targets, tz=view.tz)
