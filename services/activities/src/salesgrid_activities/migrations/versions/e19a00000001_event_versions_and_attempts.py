"""event pipeline v2: delivery attempts, aggregate versions, projection versions (issue 19)

Revision ID: e19a00000001
Revises: 5dd4fcf70b58
Create Date: 2026-12-04 20:00:00
"""

from salesgrid_common.migration_steps import create_event_tables_v2, drop_event_tables_v2

revision = "e19a00000001"
down_revision = "5dd4fcf70b58"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_event_tables_v2()


def downgrade() -> None:
    drop_event_tables_v2()
