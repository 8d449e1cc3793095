"""webhook subscriptions: a version for optimistic concurrency (existing ones start at 1)

Revision ID: c3d800000010
Revises: b2c700000009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c3d800000010"
down_revision = "b2c700000009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.drop_column("version")
