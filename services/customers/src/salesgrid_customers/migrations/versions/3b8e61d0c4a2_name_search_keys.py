"""name keys: one gram key set serves the duplicate check and the name search

Before, each customer carried the duplicate check's bottom-k sample ("g:" keys). Now every
customer carries all its gram keys ("s:") and prefix keys ("p:", domain/search.py); the duplicate
check samples the probe's grams instead and looks them up among those.

Revision ID: 3b8e61d0c4a2
Revises: 0fcd34b8d7c3
Create Date: 2026-11-23 19:50:00
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from salesgrid_customers.domain.dedup import candidate_keys
from salesgrid_customers.domain.search import index_keys

revision = "3b8e61d0c4a2"
down_revision = "0fcd34b8d7c3"
branch_labels = None
depends_on = None

BATCH = 5000
name_keys = sa.table("customer_name_keys", sa.column("key", sa.String), sa.column("customer_id", sa.String))
customers = sa.table(
    "customers", sa.column("id", sa.String), sa.column("normalised_name", sa.String), sa.column("active", sa.Boolean)
)


def _rekey(keys_of: Callable[[str], set[str]]) -> None:
    bind = op.get_bind()
    bind.execute(name_keys.delete())
    last_id = ""
    while True:  # in id order, a batch at a time: a large table never sits in memory whole
        rows = bind.execute(
            sa.select(customers.c.id, customers.c.normalised_name)
            .where(customers.c.active, customers.c.id > last_id)
            .order_by(customers.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            name_keys.insert(),
            [{"key": key, "customer_id": row.id} for row in rows for key in keys_of(row.normalised_name)],
        )
        last_id = rows[-1].id


def upgrade() -> None:
    _rekey(index_keys)


def downgrade() -> None:
    _rekey(lambda normalised: {f"g:{key[2:]}" for key in candidate_keys(normalised)})
