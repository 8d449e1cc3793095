"""Opportunity stage moves: advance through gates, regress, win, lose (a refused advance is
recorded as a gate violation), the stage history and the violations."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.pipeline_events_pb2 import PipelineGateViolated
from salesgrid_common.auth.principal import Principal
from salesgrid_common.custom_fields.records import load_definitions
from salesgrid_pipeline.domain.gate_facts import FactValue
from salesgrid_pipeline.domain.opportunities import Opportunity, moved, state_of
from salesgrid_pipeline.domain.stage_model import StageModel
from salesgrid_pipeline.domain.stages import (
    GateRejected,
    OpportunityState,
    StageTransition,
    advance,
    gate_violation,
    lose,
    regress,
    win,
)
from salesgrid_pipeline.stores import opportunity_records as records
from salesgrid_pipeline.stores import opportunities as opportunity_store

from salesgrid_pipeline.usecases._support import (
    OPP_READ,
    OPP_UPDATE,
    OPPORTUNITY_FIELDS,
    PipelineUseCasesBase,
)


Decide = Callable[[OpportunityState, StageModel, datetime], StageTransition]


class StageMovesMixin(PipelineUseCasesBase):
    """PipelineUseCases: opportunities' stage moves."""

    async def _move(
        self, principal: Principal, opportunity_id: str, expected_version: int, decide: Decide
    ) -> Opportunity:
        """Apply one stage transition; a rejected advance is recorded as a gate violation and then raised."""
        now = self.clock()
        rejected: GateRejected | None = None
        async with self.sessions() as session:
            async with session.begin():
                opportunity = await self._visible_opportunity(session, principal, opportunity_id, OPP_UPDATE)
                self._check_version(opportunity.version, expected_version)
                model = self.model_of(opportunity.stage_model)  # as the load checked it against the stored version
                archived: frozenset[str] = frozenset()
                if model.gates_custom_fields:  # an archived field no longer gates: only then are they read
                    definitions = await load_definitions(session, OPPORTUNITY_FIELDS)
                    archived = frozenset(d.key for d in definitions if not d.active)
                try:
                    transition = decide(state_of(opportunity, archived), model, now)
                except GateRejected as rejection:
                    await self._record_violation(session, principal, opportunity, rejection, now)
                    rejected = rejection  # raised after the violation is committed
                else:
                    opportunity = await self._apply(session, principal, opportunity, transition, now)
            if rejected is not None:
                raise rejected
            return opportunity

    async def _apply(
        self,
        session: AsyncSession,
        principal: Principal,
        before: Opportunity,
        transition: StageTransition,
        now: datetime,
    ) -> Opportunity:
        supplied = {code: value for code, value in transition.facts.items() if before.facts.get(code) != value}
        opportunity = await opportunity_store.save(
            session, moved(before, transition, self.model_of(before.stage_model)), now
        )
        await records.add_change(session, transition, supplied)
        verb = opportunity.status if opportunity.status in ("won", "lost") else "stage_changed"
        await self._emit(
            session,
            f"opportunity.{verb}",
            self._opportunity_event(opportunity, transition),
            opportunity.opportunity_id,
            opportunity.org_path,
            principal,
            now,
        )
        return opportunity

    async def _record_violation(
        self, session: AsyncSession, principal: Principal, row: Opportunity, rejection: GateRejected, now: datetime
    ) -> None:
        record = gate_violation(rejection)
        violation = await records.add_violation(session, row, record)
        await self._emit(
            session,
            "gate.violated",
            PipelineGateViolated(
                violation_id=violation.violation_id,
                opportunity_id=row.opportunity_id,
                actor_id=record.actor,
                owner_id=row.owner_id,
                from_stage=record.from_stage,
                target_stage=record.target_stage,
                missing_facts=record.missing_facts,
                invalid_facts=[f"{code}: {message}" for code, message in record.invalid_facts],
                unskippable_stages=record.unskippable_stages,
            ),
            row.opportunity_id,
            row.org_path,
            principal,
            now,
        )

    @staticmethod
    def _next_stage(model: StageModel, stage_code: str) -> str:
        index = model.index(stage_code) + 1
        if index >= len(model.stages) or model.stages[index].is_terminal:
            return model.won_stage.code
        return model.stages[index].code

    async def advance_opportunity(
        self,
        principal: Principal,
        opportunity_id: str,
        target_stage: str,
        facts: Mapping[str, FactValue],
        expected_version: int,
    ) -> Opportunity:
        actor = principal.subject_id
        return await self._move(
            principal,
            opportunity_id,
            expected_version,
            lambda state, model, now: advance(
                state, target_stage or self._next_stage(model, state.stage_code), facts, model, actor, now
            ),
        )

    async def regress_opportunity(
        self, principal: Principal, opportunity_id: str, target_stage: str, reason: str, expected_version: int
    ) -> Opportunity:
        actor = principal.subject_id
        return await self._move(
            principal,
            opportunity_id,
            expected_version,
            lambda state, model, now: regress(state, target_stage, reason, model, actor, now),
        )

    async def win_opportunity(
        self, principal: Principal, opportunity_id: str, facts: Mapping[str, FactValue], expected_version: int
    ) -> Opportunity:
        actor = principal.subject_id
        return await self._move(
            principal, opportunity_id, expected_version, lambda state, model, now: win(state, facts, model, actor, now)
        )

    async def lose_opportunity(
        self, principal: Principal, opportunity_id: str, reason: str, expected_version: int
    ) -> Opportunity:
        actor = principal.subject_id
        return await self._move(
            principal,
            opportunity_id,
            expected_version,
            lambda state, model, now: lose(state, reason, model, actor, now),
        )

    async def stage_history(
        self, principal: Principal, opportunity_id: str
    ) -> tuple[StageModel, list[records.StageChange]]:
        """The opportunity's moves, with the model that reads their facts."""
        async with self.sessions() as session:
            opportunity = await self._visible_opportunity(session, principal, opportunity_id, OPP_READ)
            model = self.model_of(opportunity.stage_model)
            return model, await records.changes(session, opportunity_id, model)

    async def list_gate_violations(
        self, principal: Principal, *, actor_id: str, opportunity_id: str, page_size: int, after: str
    ) -> tuple[list[records.RecordedViolation], str]:
        principal.require(OPP_READ)
        async with self.sessions() as session:
            return await records.violations_in_scope(
                session,
                principal,
                OPP_READ,
                actor_id=actor_id,
                opportunity_id=opportunity_id,
                page_size=page_size,
                after=after,
            )
