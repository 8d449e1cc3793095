"""custom fields: the stamp of each entity's definitions, changed with every definition change

A write checks its process's cached definitions against the stamp (one primary-key SELECT)
instead of reading every definition (salesgrid_common.custom_fields.cache).

Revision ID: cf5a0c0e0001
Revises: b7d1e3f5a901
"""

from salesgrid_common.custom_fields.migration_steps import (
    create_custom_field_versions_v1,
    drop_custom_field_versions_v1,
)

revision = "cf5a0c0e0001"
down_revision = "b7d1e3f5a901"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_custom_field_versions_v1()


def downgrade() -> None:
    drop_custom_field_versions_v1()
