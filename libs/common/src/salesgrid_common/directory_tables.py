"""The tables of each service's directory replica (`salesgrid_common.directory` keeps them from
identity's events): its org units and users, with their paths, managers and time zones."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, MetaData, String, Table, Text

from salesgrid_common.db import UtcDateTime

directory_metadata = MetaData()

directory_users = Table(
    "directory_users",
    directory_metadata,
    Column("user_id", String(36), primary_key=True),
    Column("login", String(100), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("unit_id", String(36), nullable=False),
    Column("org_path", String(1000), nullable=False, index=True),
    Column("manager_id", String(36), nullable=True),
    Column("roles", Text, nullable=False, default=""),
    Column("active", Boolean, nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

directory_units = Table(
    "directory_units",
    directory_metadata,
    Column("unit_id", String(36), primary_key=True),
    Column("parent_id", String(36), nullable=True),
    Column("name", String(200), nullable=False),
    Column("path", String(1000), nullable=False, index=True),
    Column("time_zone", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
