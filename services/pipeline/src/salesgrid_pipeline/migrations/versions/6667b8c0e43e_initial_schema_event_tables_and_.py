"""initial schema: event tables and identity directory

Revision ID: 6667b8c0e43e
Revises:
Create Date: 2026-11-23 16:27:26.139540
"""

from salesgrid_common.migration_steps import (
    create_directory_tables_v1,
    create_event_tables_v1,
    drop_directory_tables_v1,
    drop_event_tables_v1,
)


revision = "6667b8c0e43e"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_event_tables_v1()
    create_directory_tables_v1()


def downgrade() -> None:
    drop_directory_tables_v1()
    drop_event_tables_v1()
