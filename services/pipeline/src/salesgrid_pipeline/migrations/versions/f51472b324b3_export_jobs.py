"""export jobs

Revision ID: f51472b324b3
Revises: 199b1996f495
Create Date: 2026-12-04 20:03:59.443199
"""

from salesgrid_common.migration_steps import create_export_tables_v1, drop_export_tables_v1


revision = "f51472b324b3"
down_revision = "199b1996f495"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_export_tables_v1()


def downgrade() -> None:
    drop_export_tables_v1()
