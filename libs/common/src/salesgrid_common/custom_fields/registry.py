"""The administration of a service's custom field definitions (salesgrid.common.v1.CustomFields):
defining, changing, archiving, restoring and deleting them, each change an event
`salesgrid.<service>.custom_field.<verb>`. Everything runs on the service's own database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.custom_field_events_pb2 import CustomFieldDefinitionChanged
from salesgrid_common.auth.principal import Principal
from salesgrid_common.clock import Clock
from salesgrid_common.custom_fields.definitions import FieldDefinition, change_definition, make_definition
from salesgrid_common.custom_fields.records import definition_of
from salesgrid_common.custom_fields.tables import custom_field_definitions as defs_t
from salesgrid_common.custom_fields.tables import custom_field_values as values_t
from salesgrid_common.db import SessionFactory
from salesgrid_common.errors import AlreadyExists, Conflict, FailedPrecondition, NotFound, ValidationFailed
from salesgrid_common.events.outbox import Outbox

MANAGE = "custom_fields:manage"
READ = "custom_fields:read"


@dataclass(frozen=True)
class EntitySpec:
    name: str
    business_lines: bool = False  # definitions may be limited to business lines (stage model codes)


class CustomFieldRegistry:
    """The administration of definitions (salesgrid.common.v1.CustomFields). Changes are events
    `salesgrid.<service>.custom_field.<verb>` carrying the definition, recorded in the same
    transaction (audited by identity like every event)."""

    def __init__(
        self,
        sessions: SessionFactory,
        reader: SessionFactory,
        outbox: Outbox,
        clock: Clock,
        entities: Sequence[EntitySpec],
    ) -> None:
        self.sessions = sessions
        self.reader = reader
        self.outbox = outbox
        self.clock = clock
        self.entities = {e.name: e for e in entities}

    def _entity(self, entity: str) -> EntitySpec:
        spec = self.entities.get(entity)
        if spec is None:
            raise ValidationFailed(f"must be one of {', '.join(sorted(self.entities))}", "entity")
        return spec

    async def _emit(self, session: AsyncSession, verb: str, d: FieldDefinition, principal: Principal) -> None:
        await self.outbox.record_by(
            session,
            f"custom_field.{verb}",
            CustomFieldDefinitionChanged(
                entity=d.entity,
                key=d.key,
                label=d.label,
                type=d.type.value,
                required=d.required,
                options=d.options,
                business_lines=d.business_lines,
                active=d.active,
                version=d.version,
            ),
            principal,
            aggregate_id=f"{d.entity}.{d.key}",
            org_path=principal.org_path,
            occurred_at=self.clock(),
        )

    async def _row(self, session: AsyncSession, entity: str, key: str) -> Any:
        row = (await session.execute(select(defs_t).where(defs_t.c.entity == entity, defs_t.c.key == key))).first()
        if row is None:
            raise NotFound(f"{entity} has no custom field {key!r}", "key")
        return row

    async def define(
        self,
        principal: Principal,
        entity: str,
        key: str,
        label: str,
        field_type: str,
        *,
        required: bool = False,
        options: Sequence[str] = (),
        business_lines: Sequence[str] = (),
    ) -> Any:
        principal.require(MANAGE)
        spec = self._entity(entity)
        d = make_definition(
            entity,
            key,
            label,
            field_type,
            required=required,
            options=options,
            business_lines=business_lines,
            business_lines_allowed=spec.business_lines,
        )
        now = self.clock()
        async with self.sessions() as session, session.begin():
            if (
                await session.execute(select(defs_t.c.key).where(defs_t.c.entity == entity, defs_t.c.key == d.key))
            ).first():
                raise AlreadyExists(f"{entity} already has a custom field {d.key!r} (archived ones too)", "key")
            await session.execute(
                insert(defs_t).values(
                    entity=entity,
                    key=d.key,
                    label=d.label,
                    type=d.type.value,
                    required=d.required,
                    options=list(d.options),
                    business_lines=list(d.business_lines),
                    active=True,
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
            )
            await self._emit(session, "defined", d, principal)
            return await self._row(session, entity, d.key)

    async def change(
        self,
        principal: Principal,
        entity: str,
        key: str,
        expected_version: int,
        *,
        label: str | None = None,
        required: bool | None = None,
        options: Sequence[str] | None = None,
        business_lines: Sequence[str] | None = None,
    ) -> Any:
        principal.require(MANAGE)
        spec = self._entity(entity)
        async with self.sessions() as session, session.begin():
            current = definition_of(await self._row(session, entity, key))
            if expected_version and expected_version != current.version:
                raise Conflict(f"the field is at version {current.version}, not {expected_version}", "expected_version")
            d = change_definition(
                current,
                label=label,
                required=required,
                options=options,
                business_lines=business_lines,
                business_lines_allowed=spec.business_lines,
            )
            await self._store(session, d, "updated", principal)
            return await self._row(session, entity, key)

    async def _store(self, session: AsyncSession, d: FieldDefinition, verb: str, principal: Principal) -> None:
        done = await session.execute(
            update(defs_t)
            .where(defs_t.c.entity == d.entity, defs_t.c.key == d.key, defs_t.c.version == d.version - 1)
            .values(
                label=d.label,
                required=d.required,
                options=list(d.options),
                business_lines=list(d.business_lines),
                active=d.active,
                version=d.version,
                updated_at=self.clock(),
            )
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's CursorResult
            raise Conflict("the field was changed concurrently", "key")
        await self._emit(session, verb, d, principal)

    async def set_active(self, principal: Principal, entity: str, key: str, active: bool) -> Any:
        """Archive (active False) or restore a field. Archiving keeps every stored value."""
        principal.require(MANAGE)
        self._entity(entity)
        async with self.sessions() as session, session.begin():
            current = definition_of(await self._row(session, entity, key))
            if current.active != active:
                d = replace(current, active=active, version=current.version + 1)
                await self._store(session, d, "restored" if active else "archived", principal)
            return await self._row(session, entity, key)

    async def remove(self, principal: Principal, entity: str, key: str) -> None:
        """Delete a definition no record holds a value of; otherwise refuse (archive instead)."""
        principal.require(MANAGE)
        self._entity(entity)
        async with self.sessions() as session, session.begin():
            d = definition_of(await self._row(session, entity, key))
            held = await self._held(session, entity, key)
            if held:
                raise FailedPrecondition(
                    f"{held} {entity} hold a value of {key!r}; archive the field to stop new "
                    "values and keep the stored ones",
                    "key",
                )
            await session.execute(delete(defs_t).where(defs_t.c.entity == entity, defs_t.c.key == key))
            await self._emit(session, "deleted", d, principal)

    @staticmethod
    async def _held(session: AsyncSession, entity: str, key: str) -> int:
        return (
            await session.scalar(
                select(func.count(func.distinct(values_t.c.record_id))).where(
                    values_t.c.entity == entity, values_t.c.key == key
                )
            )
            or 0
        )

    async def list(self, principal: Principal, entity: str, include_archived: bool = False) -> list[tuple[Any, int]]:
        """(definition row, records holding a value), by key."""
        principal.require(READ)
        self._entity(entity)
        async with self.reader() as session:
            stmt = select(defs_t).where(defs_t.c.entity == entity).order_by(defs_t.c.key)
            if not include_archived:
                stmt = stmt.where(defs_t.c.active)
            rows = (await session.execute(stmt)).all()
            counts: dict[str, int] = dict(
                (
                    await session.execute(
                        select(values_t.c.key, func.count(func.distinct(values_t.c.record_id)))
                        .where(values_t.c.entity == entity)
                        .group_by(values_t.c.key)
                    )
                ).all()
            )
        return [(row, int(counts.get(row.key, 0))) for row in rows]
