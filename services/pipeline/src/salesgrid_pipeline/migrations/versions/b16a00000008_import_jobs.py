"""import jobs (lead imports staged and run in the service, issue 16)

Revision ID: b16a00000008
Revises: c4a2e1000002
"""

from salesgrid_common.migration_steps import create_import_tables_v1, drop_import_tables_v1

revision = "b16a00000008"
down_revision = "c4a2e1000002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_import_tables_v1()


def downgrade() -> None:
    drop_import_tables_v1()
