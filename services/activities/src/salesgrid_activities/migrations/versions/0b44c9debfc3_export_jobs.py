"""export jobs

Revision ID: 0b44c9debfc3
Revises: 66bf170f34e0
Create Date: 2026-12-04 20:04:04.580780
"""

from salesgrid_common.migration_steps import create_export_tables_v1, drop_export_tables_v1


revision = "0b44c9debfc3"
down_revision = "66bf170f34e0"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_export_tables_v1()


def downgrade() -> None:
    drop_export_tables_v1()
