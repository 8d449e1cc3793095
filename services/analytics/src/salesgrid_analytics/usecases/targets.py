"""Targets use cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_analytics import factstore
from salesgrid_analytics.domain import attainment as att
from salesgrid_analytics.domain.metrics import parse_metric
from salesgrid_analytics.domain.periods import parse_period
from salesgrid_analytics.domain.scope import require_subtree
from salesgrid_analytics.domain.targets import DecompositionMode, Holder, Target, check_decomposition
from salesgrid_analytics.models import TargetRow
from salesgrid_common.auth import Principal
from salesgrid_common.errors import ValidationFailed
from salesgrid_common.ids import new_id

from salesgrid_analytics.usecases._support import AnalyticsUseCasesBase, Query, _target_of, domain_scope


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
                await self._upsert(session, target, principal.subject_id, now)
        return (top, *parts), difference

    async def _upsert(self, session: AsyncSession, target: Target, actor: str, now: datetime) -> None:
        org_path, rep_id = factstore.platform_path(target.holder.org_path), target.holder.rep_id or ""
        row = await session.scalar(
            select(TargetRow).where(
                TargetRow.metric == target.metric.value,
                TargetRow.period == target.period.label,
                TargetRow.org_path == org_path,
                TargetRow.rep_id == rep_id,
            )
        )
        if row is None:
            session.add(
                TargetRow(
                    id=new_id(),
                    metric=target.metric.value,
                    period=target.period.label,
                    org_path=org_path,
                    rep_id=rep_id,
                    amount=target.amount,
                    currency=target.currency,
                    updated_at=now,
                    updated_by=actor,
                )
            )
        else:
            row.amount, row.currency, row.updated_at, row.updated_by = target.amount, target.currency, now, actor

    async def list_targets(
        self, principal: Principal, subtree: str, metric: str, period: str, time_zone: str
    ) -> tuple[att.AttainmentRow, ...]:
        async with self.sessions() as session:
            query = Query(period=period, subtree=subtree, time_zone=time_zone)
            view = await self._view(session, principal, TARGETS_READ, query, need_period=False)
            rows = await self._stored_targets(session, view.subtree, view.selection.owner_id, metric, period)
            facts = await self._facts(session, view)
        return att.attainment_report(facts, [_target_of(r) for r in rows], tz=view.tz)
