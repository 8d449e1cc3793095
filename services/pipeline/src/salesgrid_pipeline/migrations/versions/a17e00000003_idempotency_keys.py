"""idempotency keys recorded in the transaction of a keyed write (issue 17)

Revision ID: a17e00000003
Revises: 345d846bde6c
Create Date: 2026-12-04 23:00:00
"""

from salesgrid_common.migration_steps import create_idempotency_tables_v1, drop_idempotency_tables_v1

revision = "a17e00000003"
down_revision = "345d846bde6c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_tables_v1()


def downgrade() -> None:
    drop_idempotency_tables_v1()
