"""The stage model store: rows of `stage_models` (one per business line, its definition as JSON
through stage_model_codec) <-> the domain's StageModel with its version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_pipeline.domain.stage_model import StageModel
from salesgrid_pipeline.models import StageModelRow as Row
from salesgrid_pipeline.stage_model_codec import decode_model, encode_model


_T = Row.__table__
# Built once, bound at execution: a request checks its cached model's version (one indexed row)
# and reads a definition only when that version is not the cached one.
_VERSION = select(_T.c.version).where(_T.c.code == bindparam("code"))
_ONE = select(_T.c.definition, _T.c.version).where(_T.c.code == bindparam("code"))


async def version_of(session: AsyncSession, code: str) -> int | None:
    """The stored version of a business line's model, None when none is stored."""
    return await session.scalar(_VERSION, {"code": code})


async def stored_one(session: AsyncSession, code: str) -> tuple[StageModel, int] | None:
    """One administered model with its version, None when none is stored under `code`."""
    row = (await session.execute(_ONE, {"code": code})).first()
    return None if row is None else (decode_model(row.definition), row.version)


async def stored(session: AsyncSession) -> dict[str, tuple[StageModel, int]]:
    """Every administered model with its version, in one query."""
    return {row.code: (decode_model(row.definition), row.version) for row in (await session.scalars(select(Row))).all()}


async def save(session: AsyncSession, model: StageModel, actor: str, now: datetime) -> int:
    """Store a business line's model as its next version (1 for a new one); the version stored."""
    row = await session.get(Row, model.code)
    if row is None:
        row = Row(code=model.code, version=0)
        session.add(row)
    row.definition, row.version = encode_model(model), row.version + 1
    row.updated_at, row.updated_by = now, actor
    return row.version
