"""Stage model use cases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import FailedPrecondition, NotFound
from salesgrid_pipeline.domain.stage_model import StageModel, validate_stage_model
from salesgrid_pipeline.stage_model_events import Emit, publish_if_changed, publish_models_in_force
from salesgrid_pipeline.stores import stage_models as stage_model_store
from salesgrid_pipeline.stores import opportunities as opportunity_store

from salesgrid_pipeline.usecases._support import PipelineUseCasesBase


class StageModelMixin(PipelineUseCasesBase):
    """PipelineUseCases: stage model."""

    def model_of(self, code: str) -> StageModel:
        return self._models.get(code, self.model)

    async def list_stage_models(self, principal: Principal) -> list[StageModel]:
        principal.require("stage_models:read")
        async with self.sessions() as session:
            return sorted((await self._load_models(session)).values(), key=lambda m: m.code)

    async def get_stage_model(self, principal: Principal, code: str) -> StageModel:
        principal.require("stage_models:read")
        async with self.sessions() as session:
            model = (await self._load_models(session)).get(code or self.model.code)
        if model is None:
            raise NotFound(f"stage model {code!r} does not exist", "code")
        return model

    async def put_stage_model(self, principal: Principal, model: StageModel) -> StageModel:
        """Create or replace a business line's model. Open opportunities following it must still
        find their current stage in the new version."""
        principal.require("stage_models:update")
        model = validate_stage_model(model)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            codes = {s.code for s in model.open_stages}
            stranded = sorted(await opportunity_store.open_stages(session, model.code) - codes)
            if stranded:
                raise FailedPrecondition(
                    f"open opportunities are in stages the new version lacks: {', '.join(stranded)}", "stages"
                )
            self._models[model.code] = model
            self._versions[model.code] = await stage_model_store.save(session, model, principal.subject_id, now)
            await publish_if_changed(session, self._emitter(principal), model, self._versions[model.code], now)
            return model

    def _emitter(self, principal: Principal | None) -> Emit:
        """Outbox writer for stage-model events: the administrator's change, or the periodic check
        (the service's system actor)."""

        async def emit(
            session: AsyncSession,
            event_type: str,
            payload,
            aggregate_id: str,  # type: ignore[no-untyped-def]
            now: datetime,
        ) -> None:
            await self._emit(session, event_type, payload, aggregate_id, "/", principal, now)

        return emit

    async def publish_stage_models(self) -> int:
        """Publish each model in force whose definition was not published yet (periodic)."""
        return await publish_models_in_force(self.sessions, self.clock, self._emitter(None), self.model)
