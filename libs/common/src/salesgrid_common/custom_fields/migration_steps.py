"""Migration steps of custom fields' tables after version 1 (salesgrid_common.migration_steps has
version 1), shared by every service owning an entity: the schema as it was when written."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create_custom_field_versions_v1() -> None:
    """The stamp of each entity's definitions (tables.custom_field_versions, cache.py). No row is
    written: an entity has one from its first change on."""
    op.create_table(
        "custom_field_versions",
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("stamp", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("entity"),
    )


def drop_custom_field_versions_v1() -> None:
    op.drop_table("custom_field_versions")
