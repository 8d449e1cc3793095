"""export jobs

Revision ID: 2ca69c37ec55
Revises: 2a8aecc27001
Create Date: 2026-12-04 19:51:25.269103
"""

from salesgrid_common.migration_steps import create_export_tables_v1, drop_export_tables_v1


revision = "2ca69c37ec55"
down_revision = "2a8aecc27001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_export_tables_v1()


def downgrade() -> None:
    drop_export_tables_v1()
