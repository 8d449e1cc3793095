"""initial schema: event tables and identity directory

Revision ID: e78ba48b8bc9
Revises:
Create Date: 2026-11-23 16:27:42.091122
"""

from salesgrid_common.migration_steps import (
    create_directory_tables_v1,
    create_event_tables_v1,
    drop_directory_tables_v1,
    drop_event_tables_v1,
)


revision = "e78ba48b8bc9"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_event_tables_v1()
    create_directory_tables_v1()


def downgrade() -> None:
    drop_directory_tables_v1()
    drop_event_tables_v1()
