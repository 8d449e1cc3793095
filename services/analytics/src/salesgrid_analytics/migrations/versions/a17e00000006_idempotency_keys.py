"""idempotency keys recorded in the transaction of a keyed write (issue 17)

Revision ID: a17e00000006
Revises: e19a00000002
Create Date: 2026-12-04 23:00:00
"""

from salesgrid_common.migration_steps import create_idempotency_tables_v1, drop_idempotency_tables_v1

revision = "a17e00000006"
down_revision = "e19a00000002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_tables_v1()


def downgrade() -> None:
    drop_idempotency_tables_v1()
