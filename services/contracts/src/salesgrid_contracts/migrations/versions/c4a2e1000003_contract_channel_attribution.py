"""contract channel attribution and the channel partner replica (issue 20)

Revision ID: c4a2e1000003
Revises: a17e00000005
Create Date: 2026-12-04 23:20:00
"""

import sqlalchemy as sa
from alembic import op

from salesgrid_common.migration_steps import create_channel_partner_tables_v1, drop_channel_partner_tables_v1

revision = "c4a2e1000003"
down_revision = "a17e00000005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=16), server_default="direct", nullable=False))
        batch_op.add_column(sa.Column("partner_id", sa.String(length=64), server_default="", nullable=False))
        batch_op.create_index("ix_contracts_partner_id", ["partner_id"], unique=False)
    create_channel_partner_tables_v1()


def downgrade() -> None:
    drop_channel_partner_tables_v1()
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_index("ix_contracts_partner_id")
        batch_op.drop_column("partner_id")
        batch_op.drop_column("channel")
