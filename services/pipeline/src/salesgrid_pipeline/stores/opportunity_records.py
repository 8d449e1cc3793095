"""What is recorded about an opportunity besides its own row: its stage moves (`stage_history`)
and the advances its gates refused (`gate_violations`), each <-> the domain's record of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.ids import new_id
from salesgrid_common.paging import keyset_page
from salesgrid_pipeline.domain.gate_facts import FactValue
from salesgrid_pipeline.domain.opportunities import Opportunity
from salesgrid_pipeline.domain.stage_model import StageModel
from salesgrid_pipeline.domain.stages import GateViolation, StageTransition, TransitionKind
from salesgrid_pipeline.gate_fact_codec import decode_facts, encode_facts
from salesgrid_pipeline.models import GateViolation as ViolationRow
from salesgrid_pipeline.models import StageHistory as ChangeRow


@dataclass(frozen=True, slots=True)
class StageChange:
    """One recorded move; ``transition.facts`` are the facts supplied with it."""

    change_id: str
    transition: StageTransition


@dataclass(frozen=True, slots=True)
class RecordedViolation:
    violation_id: str
    owner_id: str  # the opportunity's, for scope
    org_path: str
    violation: GateViolation


# Built once, bound at execution: Core inserts, written at once (no unit of work to flush).
_INSERT_CHANGE = insert(ChangeRow.__table__)
_INSERT_VIOLATION = insert(ViolationRow.__table__)


async def add_change(
    session: AsyncSession, transition: StageTransition, supplied: Mapping[str, FactValue]
) -> StageChange:
    change = StageChange(new_id(), transition)
    values = {
        "id": change.change_id,
        "opportunity_id": transition.opportunity_id,
        "kind": transition.kind.value,
        "from_stage": transition.from_stage,
        "to_stage": transition.to_stage,
        "at": transition.at,
        "by": transition.by,
        "facts": encode_facts(supplied),
        "reason": transition.reason or "",
        "skipped_stages": list(transition.skipped_stages),
    }
    await session.execute(_INSERT_CHANGE, values)
    return change


async def changes(session: AsyncSession, opportunity_id: str, model: StageModel) -> list[StageChange]:
    """The opportunity's moves in order, their facts read with its stage model (one query)."""
    stmt = select(ChangeRow).where(ChangeRow.opportunity_id == opportunity_id).order_by(ChangeRow.id)
    return [
        StageChange(
            row.id,
            StageTransition(
                opportunity_id=row.opportunity_id,
                kind=TransitionKind(row.kind),
                from_stage=row.from_stage,
                to_stage=row.to_stage,
                at=row.at,
                by=row.by,
                facts=decode_facts(row.facts, model),
                skipped_stages=tuple(row.skipped_stages),
                reason=row.reason,
            ),
        )
        for row in (await session.scalars(stmt)).all()
    ]


async def add_violation(session: AsyncSession, opportunity: Opportunity, violation: GateViolation) -> RecordedViolation:
    recorded = RecordedViolation(new_id(), opportunity.owner_id, opportunity.org_path, violation)
    values = {
        "id": recorded.violation_id,
        "opportunity_id": violation.opportunity_id,
        "actor_id": violation.actor,
        "owner_id": recorded.owner_id,
        "org_path": recorded.org_path,
        "at": violation.at,
        "from_stage": violation.from_stage,
        "target_stage": violation.target_stage,
        "missing_facts": list(violation.missing_facts),
        "invalid_facts": [list(pair) for pair in violation.invalid_facts],
        "unskippable_stages": list(violation.unskippable_stages),
    }
    await session.execute(_INSERT_VIOLATION, values)
    return recorded


def _violation_of(row: ViolationRow) -> RecordedViolation:
    return RecordedViolation(
        row.id,
        row.owner_id,
        row.org_path,
        GateViolation(
            opportunity_id=row.opportunity_id,
            actor=row.actor_id,
            at=row.at,
            from_stage=row.from_stage,
            target_stage=row.target_stage,
            missing_facts=tuple(row.missing_facts),
            invalid_facts=tuple((code, message) for code, message in row.invalid_facts),
            unskippable_stages=tuple(row.unskippable_stages),
        ),
    )


async def violations_in_scope(
    session: AsyncSession,
    principal: Principal,
    permission: str,
    *,
    actor_id: str,
    opportunity_id: str,
    page_size: int,
    after: str,
) -> tuple[list[RecordedViolation], str]:
    """One page of gate violations the caller sees, in one query."""
    stmt = select(ViolationRow).where(scope_filter(principal, permission, ViolationRow.owner_id, ViolationRow.org_path))
    if actor_id:
        stmt = stmt.where(ViolationRow.actor_id == actor_id)
    if opportunity_id:
        stmt = stmt.where(ViolationRow.opportunity_id == opportunity_id)
    found = await keyset_page(session, stmt, ViolationRow.id, page_size, after, newest_first=False)
    return [_violation_of(row) for row in found.items], found.next_token
