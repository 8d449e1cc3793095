"""Tables of custom fields, in the database of each service owning an entity: the definitions,
and one row per (field, index token, record) so a list filter is an index lookup on either
database (no JSON operators). Values themselves live on the record (a JSON column)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, MetaData, String, Table

from salesgrid_common.db import UtcDateTime

custom_field_metadata = MetaData()

custom_field_definitions = Table(
    "custom_field_definitions",
    custom_field_metadata,
    Column("entity", String(40), primary_key=True),
    Column("key", String(40), primary_key=True),
    Column("label", String(200), nullable=False),
    Column("type", String(16), nullable=False),
    Column("required", Boolean, nullable=False),
    Column("options", JSON, nullable=False),
    Column("business_lines", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

custom_field_values = Table(
    "custom_field_values",
    custom_field_metadata,
    Column("entity", String(40), primary_key=True),
    Column("key", String(40), primary_key=True),
    Column("token", String(200), primary_key=True),
    Column("record_id", String(36), primary_key=True),
    Index("ix_custom_field_values_record", "entity", "record_id"),
)
