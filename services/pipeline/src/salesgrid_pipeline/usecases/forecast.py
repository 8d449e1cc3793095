"""Forecast use cases."""

from __future__ import annotations

from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import ValidationFailed
from salesgrid_pipeline.domain import forecast as fc
from salesgrid_pipeline.stores import opportunities as opportunity_store

from salesgrid_pipeline.usecases._support import OPP_READ, PipelineUseCasesBase


class ForecastMixin(PipelineUseCasesBase):
    """PipelineUseCases: forecast."""

    async def forecast(self, principal: Principal, group_by: str, subtree: str) -> list[fc.ForecastBucket]:
        principal.require(OPP_READ)
        if group_by not in ("", "owner", "team", "subtree"):
            raise ValidationFailed("must be owner, team or subtree", "group_by")
        async with self.sessions() as session:
            await self._load_models(session)
            rows = [
                fc.OpportunityRow(
                    opportunity_id=o.opportunity_id,
                    owner_id=o.owner_id,
                    team_id=o.org_path,
                    org_path=o.org_path.strip("/"),
                    close_date=o.expected_close_date,
                    amount=o.amount,
                    probability=self.model_of(o.stage_model).stage(o.stage).probability,
                    status=fc.RowStatus(o.status),
                    commit_flag=o.commit,
                )
                for o in await opportunity_store.not_lost_in_scope(session, principal, OPP_READ, self.model_of)
            ]
        if group_by == "subtree":
            return fc.forecast_subtree(rows, (subtree or principal.org_path).strip("/"))
        return fc.forecast(rows, fc.GroupBy.TEAM if group_by == "team" else fc.GroupBy.OWNER)
