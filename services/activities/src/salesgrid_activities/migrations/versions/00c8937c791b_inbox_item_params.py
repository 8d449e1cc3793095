"""inbox item params: the facts a notice's title is made of, for clients that render it themselves

Revision ID: 00c8937c791b
Revises: a17e00000004
Create Date: 2026-12-05 02:07:09.463666
"""

import sqlalchemy as sa
from alembic import op

revision = "00c8937c791b"
down_revision = "a17e00000004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Notices stored before have no parameters: clients show their English title.
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("params", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    with op.batch_alter_table("inbox_items", schema=None) as batch_op:
        batch_op.drop_column("params")
