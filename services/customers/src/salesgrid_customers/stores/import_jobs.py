"""The import store: staging a file's rows under a queued job, what the importer reads back (the
job's progress and its refused rows, mapped from their rows here), and the worker's side: the
unfinished jobs, claiming a batch of pending rows, each row's outcome (set-based for the rows
created in bulk) and the job's counters."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Row as Selected, String, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.copy_rows import execute_in_chunks
from salesgrid_common.db import dialect_name, on_sqlite
from salesgrid_common.imports.jobs import stage
from salesgrid_common.paging import keyset_page
from salesgrid_customers import models
from salesgrid_customers.domain.imports import ImportJob, ImportStatus, RowError, RowStatus

Job = models.ImportJob

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
    if dialect_name(session) == "postgresql":
        await session.execute(
            _MARK_CREATED_UNNESTED, {"row_ids": list(customers), "customer_ids": list(customers.values())}
        )
    else:  # on the event loop: in chunks, other requests run in between (copy_rows.execute_in_chunks)
        await execute_in_chunks(
            session,
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


@dataclass(frozen=True)
class QueuedJob:
    """An unfinished job as the worker runs it: the importer's claims it acts with."""

    id: str
    claims: dict[str, Any]


async def stage_import(
    session: AsyncSession,
    job: Mapping[str, Any],
    rows: Iterator[Sequence[object]],
    header: Sequence[str],
    max_rows: int,
    batch_rows: int,
) -> int:
    """The queued job and its rows as pending (salesgrid_common.imports.jobs.stage): the rows staged."""
    return await stage(session, Job.__table__, _ROWS, job, rows, header, max_rows, batch_rows)


async def get_import_job(session: AsyncSession, job_id: str) -> ImportJob | None:
    row = await session.get(Job, job_id)
    return None if row is None else import_job_from_row(row)


async def row_errors_page(
    session: AsyncSession, job_id: str, page_size: int, cursor: str
) -> tuple[list[RowError], str]:
    """A page of the job's refused rows, in row order."""
    row = models.ImportRow
    found = await keyset_page(
        session,
        select(row).where(row.job_id == job_id, row.status == RowStatus.ERROR),
        row.id,
        page_size,
        cursor,
        newest_first=False,
    )
    return [row_error_from_row(r) for r in found.items], found.next_token


async def unfinished_jobs(session: AsyncSession) -> list[QueuedJob]:
    """Jobs not done yet, oldest first."""
    rows = (await session.scalars(select(Job).where(Job.status != ImportStatus.DONE).order_by(Job.id))).all()
    return [QueuedJob(row.id, row.claims) for row in rows]


async def claim_pending_rows(session: AsyncSession, job_id: str, limit: int) -> Sequence[Selected[Any]]:
    """The id, row number and cells of up to `limit` pending rows of the job in row order (plain
    rows: the ORM's identity map is not needed); locked with SKIP LOCKED on PostgreSQL, so
    replicas share a job."""
    row = models.ImportRow
    query = (
        select(row.id, row.row_number, row.data)
        .where(row.job_id == job_id, row.status == RowStatus.PENDING)
        .order_by(row.id)
        .limit(limit)
    )
    if not on_sqlite(session):
        query = query.with_for_update(skip_locked=True)
    return (await session.execute(query)).all()


async def pending_count(session: AsyncSession, job_id: str) -> int:
    row = models.ImportRow
    return int(
        await session.scalar(
            select(func.count()).select_from(row).where(row.job_id == job_id, row.status == RowStatus.PENDING)
        )
        or 0
    )


async def finish_job(session: AsyncSession, job_id: str, finished_at: datetime) -> bool:
    """The job marked done, unless another replica did first (False)."""
    marked = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status != ImportStatus.DONE)
        .values(status=ImportStatus.DONE, finished_at=finished_at)
    )
    return bool(marked.rowcount == 1)


async def count_processed(session: AsyncSession, job_id: str, processed: int, created: int) -> None:
    """The job's counters after a batch (the job is running)."""
    await session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(
            status=ImportStatus.RUNNING,
            processed=Job.processed + processed,
            created=Job.created + created,
            failed=Job.failed + processed - created,
        )
    )


async def mark_row(session: AsyncSession, row_id: str, outcome: str | RowError) -> None:
    """One row's outcome: the customer created from it, or why it was refused."""
    if isinstance(outcome, str):
        values: dict[str, Any] = {"status": RowStatus.CREATED, "customer_id": outcome}
    else:
        values = {
            "status": RowStatus.ERROR,
            "error_column": outcome.column,
            "error_message": outcome.message[:1000],
            "existing_owner_id": outcome.existing_owner_id or None,
        }
    await session.execute(update(_ROWS).where(_ROWS.c.id == row_id).values(**values))


async def row_of_customer(session: AsyncSession, job_id: str, customer_id: str) -> int | None:
    """The number of the job's row the customer was created from (None: not from this job)."""
    row = models.ImportRow
    number: int | None = await session.scalar(
        select(row.row_number).where(row.job_id == job_id, row.customer_id == customer_id)
    )
    return number
