"""What an import's importer reads: the job's progress and its refused rows, mapped from their
rows here (the worker itself works on the staged rows: usecases.imports and bulk_create)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import ARRAY, String, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_customers import models
from salesgrid_customers.domain.imports import ImportJob, RowError, RowStatus

_ROWS = models.ImportRow.__table__
_MARK_CREATED = (
    update(_ROWS)
    .where(_ROWS.c.id == bindparam("row_id"))
    .values(status=RowStatus.CREATED, customer_id=bindparam("new_customer_id"))
)
# PostgreSQL: the batch's (row, customer) pairs as two arrays, one UPDATE … FROM (an executemany
# runs one UPDATE per row there).
_CREATED_PAIRS = select(
    func.unnest(bindparam("row_ids", type_=ARRAY(String))).label("row_id"),
    func.unnest(bindparam("customer_ids", type_=ARRAY(String))).label("customer_id"),
).subquery()
_MARK_CREATED_UNNESTED = (
    update(_ROWS)
    .where(_ROWS.c.id == _CREATED_PAIRS.c.row_id)
    .values(status=RowStatus.CREATED, customer_id=_CREATED_PAIRS.c.customer_id)
)


async def mark_created(session: AsyncSession, customers: Mapping[str, str]) -> None:
    """Staged rows (id → the customer created from it) marked created, in one statement."""
    if not customers:
        return
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            _MARK_CREATED_UNNESTED, {"row_ids": list(customers), "customer_ids": list(customers.values())}
        )
    else:
        await session.execute(
            _MARK_CREATED,
            [{"row_id": row_id, "new_customer_id": customer_id} for row_id, customer_id in customers.items()],
        )


def import_job_from_row(row: models.ImportJob) -> ImportJob:
    return ImportJob(
        id=row.id,
        status=row.status,
        format=row.format,
        created_by=row.created_by,
        total=row.total,
        processed=row.processed,
        created=row.created,
        failed=row.failed,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def row_error_from_row(row: models.ImportRow) -> RowError:
    return RowError(row.row_number, row.error_column or "", row.error_message or "", row.existing_owner_id or "")
