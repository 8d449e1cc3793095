"""custom fields: definitions, value index, and the values on contracts

Revision ID: bab83d6a1190
Revises: f5c4638326ef
"""

from alembic import op
import sqlalchemy as sa

from salesgrid_common.migration_steps import create_custom_field_tables_v1, drop_custom_field_tables_v1


revision = "bab83d6a1190"
down_revision = "f5c4638326ef"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_custom_field_tables_v1()
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("custom_fields", sa.JSON(), server_default="{}", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_column("custom_fields")
    drop_custom_field_tables_v1()
