"""Imports use cases: a file staged as rows of a queued job (header and custom columns checked
first, so a bad file writes nothing), the job with its row errors read back, and the worker's
batches of pending rows (import_rows: what becomes of each row)."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from typing import IO

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.tokens import job_claims, principal_from_claims
from salesgrid_common.business_metrics import count_import_completed, count_import_rows
from salesgrid_common.custom_fields.records import load_definitions
from salesgrid_common.ids import new_id
from salesgrid_common.imports.files import STAGE_BATCH, off_loop, read_rows
from salesgrid_common.imports.jobs import row_id
from salesgrid_customers.domain import imports
from salesgrid_customers.stores.import_jobs import (
    QueuedJob,
    claim_pending_rows,
    finish_job,
    get_import_job,
    pending_count,
    row_errors_page,
    stage_import,
    unfinished_jobs,
)
from salesgrid_customers.domain.dedup import OwnerInfo
from salesgrid_customers.domain.errors import (
    NotFound,
    ValidationFailed,
)
from salesgrid_customers.owners import owners_of

from salesgrid_customers.usecases._support import CUSTOMER_FIELDS
from salesgrid_customers.usecases.import_rows import ImportRowsMixin


IMPORT_STAGE_BATCH = STAGE_BATCH  # staged rows per insert (and per trip to a worker thread to parse them)
IMPORT_BATCH = 500  # rows per worker transaction (one duplicate probe and one insert per table for them)


import_row_id = row_id  # the staged rows' ids (salesgrid_common.imports.jobs)


class ImportsMixin(ImportRowsMixin):
    """CustomersUseCases: imports (staging a file, reading a job, the worker's batches; each
    row's outcome in import_rows)."""

    async def start_import(self, principal: Principal, fmt: str, spool: IO[bytes]) -> imports.ImportJob:
        """Stage the file's rows (header checked first: a bad file writes nothing) and queue the
        job; the worker creates the customers."""
        principal.require("customers:create")
        fmt = imports.check_format(fmt)
        if not spool.seek(0, io.SEEK_END):
            raise ValidationFailed("the file is empty", "file")
        rows = read_rows(spool, fmt)
        try:
            return await self._stage(principal, fmt, rows)
        finally:
            rows.close()  # type: ignore[attr-defined]  # while the spool is still open

    async def _stage(self, principal: Principal, fmt: str, rows: Iterator[list[object]]) -> imports.ImportJob:
        """Parsing (csv, calamine) is CPU work: it runs in worker threads a batch at a time while the
        inserts stay on the loop, all in one transaction, so a refused file leaves nothing behind."""
        job_id = new_id()
        header = imports.check_header(await off_loop(next, rows, []))
        async with self.sessions() as session, session.begin():
            await self._check_custom_columns(session, header)
            job = {
                "id": job_id,
                "format": fmt,
                "claims": job_claims(principal),
                "created_by": principal.subject_id,
                "created_at": self.clock(),
            }
            await stage_import(session, job, rows, header, imports.MAX_ROWS, IMPORT_STAGE_BATCH)
        return await self._job(job_id)

    @staticmethod
    async def _check_custom_columns(session: AsyncSession, header: Sequence[str]) -> None:
        """cf_<key> columns must name active custom fields of customers: a bad file writes nothing."""
        active = {d.key for d in await load_definitions(session, CUSTOMER_FIELDS) if d.active}
        unknown = [f"{imports.CUSTOM_PREFIX}{key}" for key in imports.custom_keys(header) if key not in active]
        if unknown:
            raise ValidationFailed(f"columns {', '.join(unknown)} name no active custom field of customers", "header")

    async def _job(self, job_id: str) -> imports.ImportJob:
        async with self.sessions() as session:
            job = await get_import_job(session, job_id)
            assert job is not None
            return job

    async def get_import(
        self, principal: Principal, job_id: str, page_size: int = 50, cursor: str = ""
    ) -> tuple[imports.ImportJob, list[imports.RowError], str, dict[str, OwnerInfo]]:
        """The job (only its importer sees it) and a page of its row errors, in row order."""
        principal.require("customers:create")
        async with self.sessions() as session:
            job = await get_import_job(session, job_id)
            if job is None or job.created_by != principal.subject_id:
                raise NotFound(f"import {job_id} does not exist", "id")
            errors, next_token = await row_errors_page(session, job_id, page_size, cursor)
            owners = await owners_of(session, (error.existing_owner_id for error in errors))
        return job, errors, next_token, owners

    async def run_imports(self) -> int:
        """Process one batch of pending rows of each unfinished job (oldest first): rows created."""
        async with self.sessions() as session:
            jobs = await unfinished_jobs(session)
        created = 0
        for job in jobs:
            while (done := await self._import_batch(job)) is not None:  # the job's batches, to its end
                created += done
        return created

    async def _import_batch(self, job: QueuedJob) -> int | None:
        """Customers created from the next batch, in one transaction: each row in its own
        savepoint (a refused row keeps its per-row error, the others go on), the rows' outcomes
        and the job's counters commit together, so a crash leaves the whole batch pending and
        nothing half-written. Rows are claimed with SKIP LOCKED on PostgreSQL, so replicas share
        a job. None once the job has no pending row left."""
        acting = principal_from_claims(job.claims)
        created = 0
        finished = False
        async with self.sessions() as session, session.begin():
            pending = await claim_pending_rows(session, job.id, IMPORT_BATCH)
            if pending:
                created = await self._import_pending(session, job.id, acting, pending)
            elif not await pending_count(session, job.id):  # only the replica that marks the job done counts it
                finished = await finish_job(session, job.id, self.clock())
        # Committed: the business counters (salesgrid_common.business_metrics).
        if not pending:
            if finished:
                count_import_completed()
            return None
        count_import_rows(created=created, failed=len(pending) - created)
        return created
