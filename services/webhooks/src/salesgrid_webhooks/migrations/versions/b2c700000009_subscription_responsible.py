"""webhook subscriptions: the responsible person and the expiry of an API key owner

Revision ID: b2c700000009
Revises: a17e00000008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from salesgrid_common.db import UtcDateTime

revision = "b2c700000009"
down_revision = "a17e00000008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.add_column(sa.Column("responsible_id", sa.String(length=36), nullable=False, server_default=""))
        batch.add_column(sa.Column("owner_expires_at", UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.drop_column("owner_expires_at")
        batch.drop_column("responsible_id")
