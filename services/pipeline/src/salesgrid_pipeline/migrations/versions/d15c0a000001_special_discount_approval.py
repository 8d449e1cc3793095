"""special-discount approval: quote discount rate and approval state, approval steps, unit policies

Revision ID: d15c0a000001
Revises: a17e00000003
Create Date: 2026-12-04 23:10:00
"""

import sqlalchemy as sa
from alembic import op

from salesgrid_common.db import UtcDateTime

revision = "d15c0a000001"
down_revision = "a17e00000003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("discount_rate", sa.String(length=12), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("discount_approval", sa.String(length=10), server_default="", nullable=False))
        batch_op.add_column(sa.Column("approval_started_at", UtcDateTime(timezone=True), nullable=True))
    op.create_table(
        "quote_approval_steps",
        sa.Column("quote_id", sa.String(length=36), nullable=False),
        sa.Column("step_order", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("approver_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("activated_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("reminded_at", UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("quote_id", "step_order"),
    )
    op.create_index("ix_quote_approval_steps_approver_id", "quote_approval_steps", ["approver_id"])
    op.create_table(
        "discount_policies",
        sa.Column("org_unit_id", sa.String(length=36), nullable=False),
        sa.Column("threshold_percent", sa.String(length=12), nullable=False),
        sa.Column("director_above_percent", sa.String(length=12), nullable=False),
        sa.Column("updated_by", sa.String(length=36), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("org_unit_id"),
    )


def downgrade() -> None:
    op.drop_table("discount_policies")
    op.drop_index("ix_quote_approval_steps_approver_id", table_name="quote_approval_steps")
    op.drop_table("quote_approval_steps")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_column("approval_started_at")
        batch_op.drop_column("discount_approval")
        batch_op.drop_column("discount_rate")
