"""idempotency keys recorded in the transaction of a keyed write (issue 17)

Revision ID: a17e00000005
Revises: bab83d6a1190
Create Date: 2026-12-04 23:00:00
"""

from salesgrid_common.migration_steps import create_idempotency_tables_v1, drop_idempotency_tables_v1

revision = "a17e00000005"
down_revision = "bab83d6a1190"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_tables_v1()


def downgrade() -> None:
    drop_idempotency_tables_v1()
