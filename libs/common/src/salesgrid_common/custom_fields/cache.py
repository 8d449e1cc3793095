"""The definitions in force on a write, kept in memory per database and entity and checked on every
use against the entity's stamp in that database (one primary-key SELECT of one short column).

Every change to an entity's definitions (registry.py) writes a new random stamp for the entity in
the same transaction (`bump`). A write reads the stamp in its own transaction and uses the copy
cached under that stamp, or reads the definitions and caches them under it. So a replica never
validates against definitions another replica has changed: the change's commit changed the stamp,
and the next write anywhere reads the new one -- no event, no expiry. The stamp is read before the
definitions: were a change committed between the two reads, the copy would be cached under the
older stamp, which no later read returns (stamps are random, never reused), so it is read again.
An entity without a stamp row has had no change since the table was made; its copy is cached
under None until the first change writes one.

Bounds: one entry per (engine, entity); at most MAX_ENTITIES entities per engine (the owning
services have one or two each) and engines are held weakly (a disposed engine's entries go with
it). An entry holds what one write reads anyway: the entity's definitions, archived ones included."""

from __future__ import annotations

import uuid
import weakref
from typing import Any

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.custom_fields.definitions import FieldDefinition, FieldType
from salesgrid_common.custom_fields.tables import custom_field_definitions as defs_t
from salesgrid_common.custom_fields.tables import custom_field_versions as versions_t
from salesgrid_common.db import upsert

MAX_ENTITIES = 16  # per engine

# Built once, bound at execution (SQLAlchemy then finds the compiled form without walking them).
_STAMP = select(versions_t.c.stamp).where(versions_t.c.entity == bindparam("entity"))
_DEFINITIONS = select(defs_t).where(defs_t.c.entity == bindparam("entity")).order_by(defs_t.c.key)

_Entry = tuple[str | None, tuple[FieldDefinition, ...]]
_cached: weakref.WeakKeyDictionary[Engine, dict[str, _Entry]] = weakref.WeakKeyDictionary()


def definition_of(row: Any) -> FieldDefinition:
    """A definition from its row of custom_field_definitions."""
    return FieldDefinition(
        entity=row.entity,
        key=row.key,
        label=row.label,
        type=FieldType(row.type),
        required=row.required,
        options=tuple(row.options or ()),
        business_lines=tuple(row.business_lines or ()),
        active=row.active,
        version=row.version,
    )


async def stored_definitions(session: AsyncSession, entity: str) -> tuple[FieldDefinition, ...]:
    """The entity's definitions as stored (archived ones too), by key: read, not cached."""
    return tuple(definition_of(r) for r in (await session.execute(_DEFINITIONS, {"entity": entity})).all())


async def definitions_in_force(session: AsyncSession, entity: str) -> tuple[FieldDefinition, ...]:
    """The entity's definitions as `stored_definitions` reads them in this transaction: from the
    cache when the stored stamp is the one they were cached under (one small SELECT), else read
    and cached."""
    stamp = await session.scalar(_STAMP, {"entity": entity})
    per_engine = _cached.setdefault(session.get_bind().engine, {})
    entry = per_engine.get(entity)
    if entry is not None and entry[0] == stamp:
        return entry[1]
    definitions = await stored_definitions(session, entity)
    if entity not in per_engine and len(per_engine) >= MAX_ENTITIES:
        per_engine.clear()
    per_engine[entity] = (stamp, definitions)
    return definitions


async def bump(session: AsyncSession, entity: str) -> None:
    """A new stamp for the entity's definitions, in the transaction that changes them: every cached
    copy (any replica) is then read again by the next write after the commit."""
    await upsert(session, versions_t, {"entity": entity, "stamp": uuid.uuid4().hex}, ["entity"])
