"""event pipeline v2: delivery attempts, aggregate versions, projection versions (issue 19)

Revision ID: e19a00000002
Revises: 2c5aa58e189e
Create Date: 2026-12-04 20:00:00
"""

from salesgrid_common.migration_steps import create_event_tables_v2, drop_event_tables_v2

revision = "e19a00000002"
down_revision = "2c5aa58e189e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_event_tables_v2()


def downgrade() -> None:
    drop_event_tables_v2()
