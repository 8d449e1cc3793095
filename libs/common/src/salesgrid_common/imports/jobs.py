"""Import jobs of a service whose records are created one row at a time under their single-create
rules: a caller streams a file (CSV or XLSX), its header is checked and its rows staged in one
transaction (a refused file writes nothing), a background runner creates the records with the
importer's own permissions (his token claims, kept with the job), each row in a savepoint of its
batch's transaction (a refused row keeps its error and the others go on; a crash leaves the whole
batch pending and nothing half-written), and the importer reads the progress and the refused rows.

`stage` is also what a service with its own job tables stages into (customers)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.tokens import job_claims, principal_from_claims
from salesgrid_common.business_metrics import count_import_completed, count_import_rows
from salesgrid_common.clock import Clock
from salesgrid_common.copy_rows import insert_rows
from salesgrid_common.db import SessionFactory, on_sqlite
from salesgrid_common.errors import (
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from salesgrid_common.ids import new_id
from salesgrid_common.imports import files, model
from salesgrid_common.imports.tables import import_jobs, import_rows
from salesgrid_common.paging import count_if_asked, page_size

# One row under the single-create rules, in the caller's session (a savepoint): the new record's id.
CreateRow = Callable[[AsyncSession, Principal, Mapping[str, str]], Awaitable[str]]
# Checks of the header that need the database (cf_<key> columns naming active custom fields).
CheckHeader = Callable[[AsyncSession, Sequence[str]], Awaitable[None]]
ROW_REFUSALS = (ValidationFailed, AlreadyExists, PermissionDenied, FailedPrecondition, NotFound)


@dataclass(frozen=True)
class Importer:
    """One importable entity: the permission to import it, its file columns, how a row becomes a
    record, and which file column a refusal's field names."""

    entity: str  # e.g. leads
    permission: str  # e.g. leads:create
    columns: Sequence[str]
    required: Sequence[str]
    create: CreateRow
    column_of: Callable[[str], str] = lambda field: field
    check_header: CheckHeader | None = None
    max_rows: int = model.MAX_ROWS
    max_bytes: int = model.MAX_FILE_BYTES


def row_id(job_id: str, row_number: int) -> str:
    return f"{job_id}:{row_number:010d}"


async def stage(
    session: AsyncSession,
    jobs: Table,
    rows: Table,
    job: Mapping[str, Any],
    reader: Iterator[Sequence[object]],
    header: Sequence[str],
    max_rows: int = model.MAX_ROWS,
    batch_rows: int = files.STAGE_BATCH,
) -> int:
    """Insert the queued job and its non-blank rows as pending, parsing a batch at a time in a
    worker thread while the inserts stay on the loop, in the caller's transaction: the rows
    staged. A file without data rows or with too many is refused."""
    job_id = job["id"]
    await session.execute(insert(jobs).values(**job, status=model.ImportStatus.QUEUED, total=0))
    total = 0
    while batch := await files.off_loop(files.next_rows, reader, header, batch_rows):
        model.check_rows(total + len(batch), max_rows)
        await insert_rows(  # COPY on PostgreSQL; in chunks on SQLite, other requests run in between
            session,
            rows,
            [
                {
                    "id": row_id(job_id, number),
                    "job_id": job_id,
                    "row_number": number,
                    "data": values,
                    "status": model.RowStatus.PENDING,
                }
                for number, values in enumerate(batch, start=total + 1)
            ],
        )
        total += len(batch)
    if total == 0:
        raise ValidationFailed("the file has no data rows", "file")
    await session.execute(update(jobs).where(jobs.c.id == job_id).values(total=total))
    return total


def job_from_row(row: Any) -> model.ImportJob:
    return model.ImportJob(
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


class ImportJobs:
    """The import jobs of one entity of a service, in the common tables (tables.py)."""

    def __init__(self, sessions: SessionFactory, clock: Clock, importer: Importer, *, batch: int = 200) -> None:
        self.sessions = sessions
        self.clock = clock
        self.importer = importer
        self.batch = batch
        self._running = asyncio.Lock()  # one runner per process (replicas share a job through SKIP LOCKED)

    async def start(self, principal: Principal, fmt: str, spool: IO[bytes]) -> model.ImportJob:
        """Stage the file's rows (header checked first: a bad file writes nothing) and queue the
        job; the runner creates the records."""
        principal.require(self.importer.permission)
        fmt = model.check_format(fmt)
        if not spool.seek(0, io.SEEK_END):
            raise ValidationFailed("the file is empty", "file")
        reader = files.read_rows(spool, fmt)
        try:
            first = await files.off_loop(next, reader, [])
            header = model.check_header(first, self.importer.columns, self.importer.required)
            job_id = new_id()
            async with self.sessions() as session, session.begin():
                if self.importer.check_header is not None:
                    await self.importer.check_header(session, header)
                job = {
                    "id": job_id,
                    "entity": self.importer.entity,
                    "format": fmt,
                    "claims": job_claims(principal),
                    "created_by": principal.subject_id,
                    "created_at": self.clock(),
                }
                await stage(session, import_jobs, import_rows, job, reader, header, self.importer.max_rows)
        finally:
            reader.close()  # type: ignore[attr-defined]  # while the spool is still open
        async with self.sessions() as session:
            return job_from_row((await session.execute(select(import_jobs).where(import_jobs.c.id == job_id))).one())

    async def get(
        self, principal: Principal, job_id: str, requested_size: int = 0, cursor: str = ""
    ) -> tuple[model.ImportJob, list[model.RowError], str]:
        """The job (only its importer sees it) and a page of its refused rows, in row order."""
        principal.require(self.importer.permission)
        if cursor and not cursor.startswith(f"{job_id}:"):
            raise ValidationFailed("is not a cursor this list returned", "cursor")
        size = page_size(requested_size)
        async with self.sessions() as session:
            job = (
                await session.execute(
                    select(import_jobs).where(import_jobs.c.id == job_id, import_jobs.c.entity == self.importer.entity)
                )
            ).one_or_none()
            if job is None or job.created_by != principal.subject_id:
                raise NotFound(f"import {job_id} does not exist", "id")
            query = select(import_rows).where(
                import_rows.c.job_id == job_id, import_rows.c.status == model.RowStatus.ERROR
            )
            await count_if_asked(session, query)
            if cursor:
                query = query.where(import_rows.c.id > cursor)
            found = (await session.execute(query.order_by(import_rows.c.id).limit(size + 1))).all()
        errors = [model.RowError(r.row_number, r.error_column or "", r.error_message or "") for r in found[:size]]
        return job_from_row(job), errors, found[size - 1].id if len(found) > size else ""

    async def run_all(self) -> int:
        """Every pending row of every unfinished job of the entity (oldest job first): records created."""
        async with self._running:
            return await self._run_all()

    async def _run_all(self) -> int:
        async with self.sessions() as session:
            jobs = (
                await session.execute(
                    select(import_jobs.c.id, import_jobs.c.claims)
                    .where(
                        import_jobs.c.entity == self.importer.entity,
                        import_jobs.c.status != model.ImportStatus.DONE,
                    )
                    .order_by(import_jobs.c.id)
                )
            ).all()
        created = 0
        for job in jobs:
            acting = principal_from_claims(job.claims)
            while (done := await self._batch(job.id, acting)) is not None:
                created += done
        return created

    async def _batch(self, job_id: str, acting: Principal) -> int | None:
        """Records created from the next batch of pending rows, in one transaction (rows claimed with
        SKIP LOCKED on PostgreSQL, so replicas share a job); None once none is left."""
        created = 0
        finished = False
        async with self.sessions() as session, session.begin():
            query = (
                select(import_rows.c.id, import_rows.c.data)
                .where(import_rows.c.job_id == job_id, import_rows.c.status == model.RowStatus.PENDING)
                .order_by(import_rows.c.id)
                .limit(self.batch)
            )
            if not on_sqlite(session):
                query = query.with_for_update(skip_locked=True)
            pending = (await session.execute(query)).all()
            for staged in pending:
                outcome = await self._row(session, acting, staged.data)
                created += outcome["status"] == model.RowStatus.CREATED
                await session.execute(update(import_rows).where(import_rows.c.id == staged.id).values(**outcome))
                await asyncio.sleep(0)  # SQLite runs on the loop: let reads in between rows
            if pending:
                await session.execute(
                    update(import_jobs)
                    .where(import_jobs.c.id == job_id)
                    .values(
                        status=model.ImportStatus.RUNNING,
                        processed=import_jobs.c.processed + len(pending),
                        created=import_jobs.c.created + created,
                        failed=import_jobs.c.failed + len(pending) - created,
                    )
                )
            else:
                left = await session.scalar(
                    select(func.count())
                    .select_from(import_rows)
                    .where(import_rows.c.job_id == job_id, import_rows.c.status == model.RowStatus.PENDING)
                )
                if not left:  # only the replica that marks the job done counts it
                    marked = await session.execute(
                        update(import_jobs)
                        .where(import_jobs.c.id == job_id, import_jobs.c.status != model.ImportStatus.DONE)
                        .values(status=model.ImportStatus.DONE, finished_at=self.clock())
                    )
                    finished = marked.rowcount == 1  # type: ignore[attr-defined]  # an UPDATE's CursorResult
        if not pending:
            if finished:
                count_import_completed()
            return None
        count_import_rows(created=created, failed=len(pending) - created)
        return created

    async def _row(self, session: AsyncSession, acting: Principal, data: Mapping[str, str]) -> dict[str, Any]:
        """One row under the single-create rules, in a savepoint: its outcome (the record's id, or
        the refusal naming the file column)."""
        try:
            async with session.begin_nested():
                record_id = await self.importer.create(session, acting, data)
            return {"status": model.RowStatus.CREATED, "record_id": record_id}
        except ROW_REFUSALS as exc:
            return {
                "status": model.RowStatus.ERROR,
                "error_column": self.importer.column_of(exc.field or "")[:64],
                "error_message": exc.message[:1000],
            }
