"""The stage models analytics reports against, kept from pipeline's `stage_model.published`:
the newest version per code wins (a late, older event changes nothing)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_analytics.domain.stages import StageModel, definition_of, model_from_definition
from salesgrid_analytics.models import StageModelRow


async def keep(session: AsyncSession, model: StageModel, at: datetime) -> bool:
    """Store `model` unless a newer version is stored; True when stored."""
    row = await session.get(StageModelRow, model.code)
    body = json.dumps(definition_of(model), sort_keys=True, ensure_ascii=False)
    if row is None:
        session.add(StageModelRow(code=model.code, version=model.version, definition=body, updated_at=at))
        return True
    if model.version < row.version:
        return False
    row.version, row.definition, row.updated_at = model.version, body, at
    return True


async def load_all(session: AsyncSession) -> dict[str, StageModel]:
    rows = (await session.scalars(select(StageModelRow).order_by(StageModelRow.code))).all()
    return {r.code: model_from_definition(r.code, r.version, json.loads(r.definition)) for r in rows}
