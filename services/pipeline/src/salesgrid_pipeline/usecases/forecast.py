"""Forecast use cases."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from salesgrid_common.auth import Principal, scope_filter
from salesgrid_common.errors import ValidationFailed
from salesgrid_pipeline.domain import forecast as fc
from salesgrid_pipeline.domain.money import Money
from salesgrid_pipeline.models import Opportunity

from salesgrid_pipeline.usecases._support import OPP_READ, PipelineUseCasesBase


class ForecastMixin(PipelineUseCasesBase):
    """PipelineUseCases: forecast."""

    async def forecast(self, principal: Principal, group_by: str, subtree: str) -> list[fc.ForecastBucket]:
        principal.require(OPP_READ)
        if group_by not in ("", "owner", "team", "subtree"):
            raise ValidationFailed("must be owner, team or subtree", "group_by")
        stmt = select(Opportunity).where(
            scope_filter(principal, OPP_READ, Opportunity.owner_id, Opportunity.org_path), Opportunity.status != "lost"
        )
        async with self.sessions() as session:
            await self._load_models(session)
            rows = [
                fc.OpportunityRow(
                    opportunity_id=r.id,
                    owner_id=r.owner_id,
                    team_id=r.org_path,
                    org_path=r.org_path.strip("/"),
                    close_date=r.expected_close_date,
                    amount=Money(Decimal(r.amount), r.currency),
                    probability=self.model_of(r.stage_model).stage(r.stage).probability,
                    status=fc.RowStatus(r.status),
                    commit_flag=r.commit,
                )
                for r in (await session.scalars(stmt)).all()
            ]
        if group_by == "subtree":
            return fc.forecast_subtree(rows, (subtree or principal.org_path).strip("/"))
        return fc.forecast(rows, fc.GroupBy.TEAM if group_by == "team" else fc.GroupBy.OWNER)
