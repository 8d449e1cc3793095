"""A record's custom fields on its service's write, list and export paths: validating and indexing
a write (`apply_values`), the filters of a list (`filter_clauses`), the definitions in force
(`load_definitions`). Called by the use cases of the service owning the entity, in its own
database and transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.custom_fields.definitions import FieldDefinition, FieldType
from salesgrid_common.custom_fields.tables import custom_field_definitions as defs_t
from salesgrid_common.custom_fields.tables import custom_field_values as values_t
from salesgrid_common.custom_fields.values import filter_token, index_tokens, merge_values, user_keys
from salesgrid_common.directory import get_user
from salesgrid_common.errors import ValidationFailed


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


# Built once, bound at execution: building the 11-column statement and its cache key on every write
# was about 60 % of this read's CPU when no definition exists (docs/performance/perf-cfcache.md).
_DEFINITIONS = select(defs_t).where(defs_t.c.entity == bindparam("entity")).order_by(defs_t.c.key)


async def load_definitions(session: AsyncSession, entity: str) -> list[FieldDefinition]:
    rows = (await session.execute(_DEFINITIONS, {"entity": entity})).all()
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
