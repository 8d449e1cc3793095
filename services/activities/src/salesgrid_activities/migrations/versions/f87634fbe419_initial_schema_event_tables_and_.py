"""initial schema: event tables and identity directory

Revision ID: f87634fbe419
Revises:
Create Date: 2026-11-23 16:27:33.875539
"""

from salesgrid_common.migration_steps import (
    create_directory_tables_v1,
    create_event_tables_v1,
    drop_directory_tables_v1,
    drop_event_tables_v1,
)


revision = "f87634fbe419"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_event_tables_v1()
    create_directory_tables_v1()


def downgrade() -> None:
    drop_directory_tables_v1()
    drop_event_tables_v1()
