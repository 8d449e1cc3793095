"""export jobs

Revision ID: a40677d48755
Revises: 3a282d9c0d1b
Create Date: 2026-12-04 20:04:08.999839
"""

from salesgrid_common.migration_steps import create_export_tables_v1, drop_export_tables_v1


revision = "a40677d48755"
down_revision = "3a282d9c0d1b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_export_tables_v1()


def downgrade() -> None:
    drop_export_tables_v1()
