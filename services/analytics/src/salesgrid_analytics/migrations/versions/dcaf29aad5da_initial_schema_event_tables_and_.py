"""initial schema: event tables and identity directory

Revision ID: dcaf29aad5da
Revises:
Create Date: 2026-11-23 16:27:50.712140
"""

from salesgrid_common.migration_steps import (
    create_directory_tables_v1,
    create_event_tables_v1,
    drop_directory_tables_v1,
    drop_event_tables_v1,
)


revision = "dcaf29aad5da"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_event_tables_v1()
    create_directory_tables_v1()


def downgrade() -> None:
    drop_directory_tables_v1()
    drop_event_tables_v1()
