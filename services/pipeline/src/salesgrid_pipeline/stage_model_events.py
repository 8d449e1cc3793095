"""Publishing stage models: `salesgrid.pipeline.stage_model.published` carries a model's codes,
order, probabilities and outcomes to whoever reports on opportunities (analytics), so no other
service keeps a copy. Sent when an administrator changes a model, and by a periodic check for each
model in force whose definition differs from the one last published (the built-in default on a
fresh database, or after a release changed it)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from google.protobuf.message import Message
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.pipeline_events_pb2 import PipelineStageDefinition, PipelineStageModelState
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_pipeline.domain.stage_model import StageModel
from salesgrid_pipeline.stage_model_codec import encode_model
from salesgrid_pipeline.models import StageModelPublication
from salesgrid_pipeline.stores import stage_models as stage_model_store

log = logging.getLogger(__name__)
EVENT = "stage_model.published"
DEFAULT_VERSION = 0  # the built-in default until an administrator stores a model with its code

# (session, event type without the service prefix, payload, aggregate id, when) -> outbox row
Emit = Callable[[AsyncSession, str, Message, str, datetime], Awaitable[None]]


def stage_model_state(model: StageModel, version: int) -> PipelineStageModelState:
    return PipelineStageModelState(
        code=model.code,
        name=model.name,
        version=version,
        entry_stage=model.entry_stage_code,
        stages=[
            PipelineStageDefinition(
                code=s.code,
                name=s.name,
                probability=s.probability,
                outcome=s.outcome.value if s.outcome else "",
                sla_days=s.sla_days or 0,
            )
            for s in model.stages
        ],
    )


def digest(model: StageModel, version: int) -> str:
    body = json.dumps({"version": version, "model": encode_model(model)}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


async def publish_if_changed(session: AsyncSession, emit: Emit, model: StageModel, version: int, now: datetime) -> bool:
    """Emit the model unless exactly this version and definition were published; True when emitted."""
    mark = digest(model, version)
    row = await session.get(StageModelPublication, model.code)
    if row is not None and row.digest == mark:
        return False
    if row is None:
        session.add(StageModelPublication(code=model.code, version=version, digest=mark, published_at=now))
    else:
        row.version, row.digest, row.published_at = version, mark, now
    await emit(session, EVENT, stage_model_state(model, version), model.code, now)
    return True


async def models_in_force(session: AsyncSession, default: StageModel) -> list[tuple[StageModel, int]]:
    """Every model opportunities may follow, with its version: the stored ones and, unless a stored
    model replaces it, the built-in default."""
    stored = await stage_model_store.stored(session)
    stored.setdefault(default.code, (default, DEFAULT_VERSION))
    return [stored[code] for code in sorted(stored)]


async def publish_models_in_force(sessions: SessionFactory, clock: Clock, emit: Emit, default: StageModel) -> int:
    """The periodic check: publish each model in force not yet published as it stands."""
    try:
        async with sessions() as session, session.begin():
            sent = 0
            for model, version in await models_in_force(session, default):
                sent += await publish_if_changed(session, emit, model, version, clock())
            return sent
    except IntegrityError:  # another replica published the same change at the same moment
        log.info("stage models published by another replica")
        return 0
