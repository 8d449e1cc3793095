"""custom fields: definitions, value index, and the values on customers and contacts

Revision ID: 45bc564ee288
Revises: e19a00000004
Create Date: 2026-12-04 22:57:40.413498
"""

from alembic import op
import sqlalchemy as sa

from salesgrid_common.migration_steps import create_custom_field_tables_v1, drop_custom_field_tables_v1


revision = "45bc564ee288"
down_revision = "e19a00000004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_custom_field_tables_v1()
    # A constant default: no table rewrite on PostgreSQL 11+, a plain ADD COLUMN on SQLite.
    with op.batch_alter_table("customer_contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("custom_fields", sa.JSON(), server_default="{}", nullable=False))
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("custom_fields", sa.JSON(), server_default="{}", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("custom_fields")
    with op.batch_alter_table("customer_contacts", schema=None) as batch_op:
        batch_op.drop_column("custom_fields")
    drop_custom_field_tables_v1()
