"""custom fields: definitions, value index, and the values on opportunities and leads

Revision ID: 345d846bde6c
Revises: e19a00000006
"""

from alembic import op
import sqlalchemy as sa

from salesgrid_common.migration_steps import create_custom_field_tables_v1, drop_custom_field_tables_v1


revision = "345d846bde6c"
down_revision = "e19a00000006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_custom_field_tables_v1()
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("custom_fields", sa.JSON(), server_default="{}", nullable=False))
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("custom_fields", sa.JSON(), server_default="{}", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("custom_fields")
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.drop_column("custom_fields")
    drop_custom_field_tables_v1()
