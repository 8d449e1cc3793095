"""name search keys: index every customer's name grams and prefixes (domain/search.py)

Revision ID: 3b8e61d0c4a2
Revises: 0fcd34b8d7c3
Create Date: 2026-11-23 19:50:00
"""
import sqlalchemy as sa
from alembic import op

from salesgrid_customers.domain.search import index_keys

revision = '3b8e61d0c4a2'
down_revision = '0fcd34b8d7c3'
branch_labels = None
depends_on = None

BATCH = 5000
name_keys = sa.table("customer_name_keys", sa.column("key", sa.String), sa.column("customer_id", sa.String))
customers = sa.table("customers", sa.column("id", sa.String), sa.column("normalised_name", sa.String))


def upgrade() -> None:
    # Search keys live next to the duplicate check's candidate keys ("g:"), under "s:" and "p:".
    bind = op.get_bind()
    last_id = ""
    while True:
        rows = bind.execute(sa.select(customers.c.id, customers.c.normalised_name)
                            .where(customers.c.id > last_id).order_by(customers.c.id).limit(BATCH)).all()
        if not rows:
            break
        bind.execute(name_keys.insert(), [{"key": key, "customer_id": row.id}
                                          for row in rows for key in index_keys(row.normalised_name)])
        last_id = rows[-1].id


def downgrade() -> None:
    op.execute(name_keys.delete().where(sa.or_(name_keys.c.key.like("s:%"), name_keys.c.key.like("p:%"))))
