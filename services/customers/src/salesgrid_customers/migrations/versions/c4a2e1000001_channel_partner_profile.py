"""channel partner profile on customers (issue 20)

Revision ID: c4a2e1000001
Revises: a17e00000002
Create Date: 2026-12-04 23:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c4a2e1000001"
down_revision = "a17e00000002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_channel", sa.String(length=16), server_default="", nullable=False))
        batch_op.add_column(sa.Column("partner_tier", sa.String(length=16), server_default="", nullable=False))
        batch_op.add_column(sa.Column("partner_contract_id", sa.String(length=36), server_default="", nullable=False))
        batch_op.create_index("ix_customers_partner_channel", ["partner_channel"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_partner_channel")
        batch_op.drop_column("partner_contract_id")
        batch_op.drop_column("partner_tier")
        batch_op.drop_column("partner_channel")
