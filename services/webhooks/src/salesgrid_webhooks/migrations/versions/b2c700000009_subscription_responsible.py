"""webhook subscriptions: the responsible person of an API key owner

Revision ID: b2c700000009
Revises: a17e00000008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b2c700000009"
down_revision = "a17e00000008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.add_column(sa.Column("responsible_id", sa.String(length=36), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.drop_column("responsible_id")
