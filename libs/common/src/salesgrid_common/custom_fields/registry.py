"""Custom field definitions of the entities a service owns, and what its use cases call on the
records' write, list and export paths. Everything runs on the service's own database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.custom_field_events_pb2 import CustomFieldDefinitionChanged
from salesgrid_common.auth.principal import Principal
from salesgrid_common.clock import Clock
from salesgrid_common.custom_fields.definitions import FieldDefinition, FieldType, change_definition, make_definition
from salesgrid_common.custom_fields.values import filter_token, index_tokens, merge_values, user_keys
from salesgrid_common.custom_fields.tables import custom_field_definitions as defs_t
from salesgrid_common.custom_fields.tables import custom_field_values as values_t
from salesgrid_common.db import SessionFactory
from salesgrid_common.directory import get_user
from salesgrid_common.errors import AlreadyExists, Conflict, FailedPrecondition, NotFound, ValidationFailed
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox

MANAGE = "custom_fields:manage"
READ = "custom_fields:read"


@dataclass(frozen=True)
class EntitySpec:
    name: str
    business_lines: bool = False  # definitions may be limited to business lines (stage model codes)


def definition_of(row: Any) -> FieldDefinition:
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


async def load_definitions(session: AsyncSession, entity: str) -> list[FieldDefinition]:
    rows = (await session.execute(select(defs_t).where(defs_t.c.entity == entity).order_by(defs_t.c.key))).all()
    return [definition_of(r) for r in rows]


def index_rows(
    entity: str, record_id: str, definitions: Sequence[FieldDefinition], values: Mapping[str, Any]
) -> list[dict[str, str]]:
    """The value-index rows of a record (bulk inserts of new records use them directly)."""
    by_key = {d.key: d for d in definitions}
    return [
        {"entity": entity, "key": key, "token": token, "record_id": record_id}
        for key, value in values.items()
        if key in by_key
        for token in sorted(set(index_tokens(by_key[key], value)))
    ]


async def write_index(
    session: AsyncSession,
    entity: str,
    record_id: str,
    definitions: Sequence[FieldDefinition],
    values: Mapping[str, Any],
    *,
    new_record: bool = False,
) -> None:
    """Replace the record's index rows by those of `values` (same transaction as the record); a new
    record has none to delete."""
    if not new_record:
        await session.execute(delete(values_t).where(values_t.c.entity == entity, values_t.c.record_id == record_id))
    rows = index_rows(entity, record_id, definitions, values)
    if rows:
        await session.execute(insert(values_t), rows)


async def apply_values(
    session: AsyncSession,
    entity: str,
    record_id: str,
    current: Mapping[str, Any] | None,
    incoming: Mapping[str, Any] | None,
    *,
    business_line: str = "",
    creating: bool = False,
    prefix: str = "custom_fields",
) -> dict[str, Any]:
    """Validate a write of `incoming` on a record holding `current`, index the result and return
    the values to store on the record. Users named by user fields must be active users."""
    current = dict(current or {})
    if not incoming and not creating:
        return current
    definitions = await load_definitions(session, entity)
    merged = merge_values(definitions, current, incoming, business_line=business_line, creating=creating, prefix=prefix)
    changed = {key: value for key, value in merged.items() if current.get(key) != value}
    missing = []
    for key, user_id in user_keys(definitions, changed).items():
        user = await get_user(session, user_id)
        if user is None or not user.active:
            missing.append((f"{prefix}.{key}", f"unknown or inactive user {user_id}"))
    if missing:
        raise ValidationFailed.many(missing)
    if merged != current:  # a new record without values has nothing to index
        await write_index(session, entity, record_id, definitions, merged, new_record=creating)
    return merged


async def filter_clauses(
    session: AsyncSession, entity: str, id_column: Any, filters: Mapping[str, str], prefix: str = "custom_fields."
) -> list[ColumnElement[bool]]:
    """One `id IN (index lookup)` clause per filter (all must match). A filter on an archived
    field still works: its values are kept."""
    if not filters:
        return []
    by_key = {d.key: d for d in await load_definitions(session, entity)}
    clauses, problems = [], []
    for key, raw in sorted(filters.items()):
        definition = by_key.get(key)
        if definition is None:
            problems.append((f"{prefix}{key}", "is not a custom field of this record"))
            continue
        try:
            token = filter_token(definition, raw, f"{prefix}{key}")
        except ValidationFailed as error:
            problems += error.violations
            continue
        clauses.append(
            id_column.in_(
                select(values_t.c.record_id).where(
                    values_t.c.entity == entity, values_t.c.key == key, values_t.c.token == token
                )
            )
        )
    if problems:
        raise ValidationFailed.many(problems)
    return clauses


class CustomFieldRegistry:
    """The administration of definitions (salesgrid.common.v1.CustomFields). Changes are events
    `salesgrid.<service>.custom_field.<verb>` carrying the definition, recorded in the same
    transaction (audited by identity like every event)."""

    def __init__(
        self,
        service: str,
        sessions: SessionFactory,
        reader: SessionFactory,
        outbox: Outbox,
        clock: Clock,
        entities: Sequence[EntitySpec],
    ) -> None:
        self.service = service
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
        await self.outbox.record(
            session,
            f"salesgrid.{self.service}.custom_field.{verb}",
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
            EventMeta(
                aggregate_id=f"{d.entity}.{d.key}",
                actor_id=principal.subject_id,
                org_path=principal.org_path,
                actor_ip=principal.client_ip,
            ),
            self.clock(),
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
