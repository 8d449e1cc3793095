"""export jobs

Revision ID: aa4f4985d2c9
Revises: 815e34350a44
Create Date: 2026-12-04 19:49:07.956521
"""

from salesgrid_common.migration_steps import create_export_tables_v1, drop_export_tables_v1


revision = "aa4f4985d2c9"
down_revision = "815e34350a44"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_export_tables_v1()


def downgrade() -> None:
    drop_export_tables_v1()
