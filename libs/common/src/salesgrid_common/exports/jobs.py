"""Export jobs: a service declares `Exporter`s for the records it owns; a caller creates a job
(202), a background runner streams the rows with the creator's own scope (his token claims, kept
with the job) into a CSV or XLSX file written chunk by chunk into the database, the job reports
its progress, the file is downloadable by its creator only and deleted after the retention
period. Requested, completed and downloaded exports are events (`salesgrid.<service>.export.*`),
so identity's audit trail records every one."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.export_events_pb2 import ExportAudited
from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.tokens import job_claims, principal_from_claims
from salesgrid_common.clock import Clock
from salesgrid_common.custom_fields.definitions import COLUMN_PREFIX
from salesgrid_common.custom_fields.values import cell_text, custom_filters
from salesgrid_common.custom_fields.records import filter_clauses, load_definitions
from salesgrid_common.db import SessionFactory
from salesgrid_common.errors import NotFound, ValidationFailed
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.exports import files
from salesgrid_common.exports.tables import export_chunks, export_jobs
from salesgrid_common.ids import new_id

log = logging.getLogger(__name__)

Rows = Callable[[AsyncSession, Principal, Mapping[str, str]], AsyncIterator[Sequence[Any]]]
# A small computed table (a report): (header, rows) for the principal and filters.
Table = Callable[[Principal, Mapping[str, str]], Awaitable[tuple[Sequence[str], Iterable[Sequence[Any]]]]]


@dataclass(frozen=True)
class Exporter:
    """One exportable entity: the permission to export it, the filters it accepts, and either
    its columns and rows (scope-filtered for the principal, streamed from the database) or a
    `table` computing a small report."""

    entity: str
    permission: str  # e.g. customers:export
    header: Sequence[str] = ()
    rows: Rows | None = None
    filters: frozenset[str] = field(default_factory=frozenset)
    validate: Callable[[Mapping[str, str]], None] = lambda filters: None
    table: Table | None = None
    required: frozenset[str] = field(default_factory=frozenset)
    # A custom-field entity: cf_<key> filters are accepted, and each row's last element is the
    # record's custom-field values, written as one cf_<key> column per field (archived ones too).
    custom_fields: str = ""


def filename(job: Any) -> str:
    return f"{job.entity}-{job.id}.{job.format}"


class ExportJobs:
    def __init__(
        self,
        service: str,
        sessions: SessionFactory,
        reader: SessionFactory,
        outbox: Outbox,
        clock: Clock,
        exporters: Sequence[Exporter],
        *,
        retention: timedelta = timedelta(hours=24),
        progress_every: int = 5000,
    ) -> None:
        self.service = service
        self.sessions = sessions
        self.reader = reader
        self.outbox = outbox
        self.clock = clock
        self.exporters = {e.entity: e for e in exporters}
        self.retention = retention
        self.progress_every = progress_every

    async def _audit(
        self, session: AsyncSession, verb: str, job: Any, actor: str, org_path: str, rows: int = 0, status: str = ""
    ) -> None:
        await self.outbox.record(
            session,
            f"salesgrid.{self.service}.export.{verb}",
            ExportAudited(
                job_id=job.id, entity=job.entity, format=job.format, filters=dict(job.filters), rows=rows, status=status
            ),
            EventMeta(aggregate_id=job.id, actor_id=actor, org_path=org_path),
            self.clock(),
        )

    async def create(self, principal: Principal, entity: str, file_format: str, filters: Mapping[str, str]) -> Any:
        exporter = self.exporters.get(entity)
        if exporter is None:
            raise ValidationFailed(f"one of {', '.join(sorted(self.exporters))}", "entity")
        if file_format not in files.FORMATS:
            raise ValidationFailed("csv or xlsx", "format")
        unknown = sorted(
            name
            for name in set(filters) - exporter.filters
            if not (exporter.custom_fields and name.startswith(COLUMN_PREFIX))
        )
        if unknown:
            raise ValidationFailed(
                f"unknown filter {unknown[0]!r}; accepted: {', '.join(sorted(exporter.filters))}",
                f"filters.{unknown[0]}",
            )
        for name in sorted(exporter.required - set(filters)):
            raise ValidationFailed("is required", f"filters.{name}")
        exporter.validate(filters)
        principal.require(exporter.permission)
        if exporter.custom_fields:
            async with self.reader() as session:  # a bad custom-field filter fails now, not in the job
                await filter_clauses(
                    session,
                    exporter.custom_fields,
                    export_jobs.c.id,
                    custom_filters(filters),
                    prefix=f"filters.{COLUMN_PREFIX}",
                )
        job_id = new_id()
        claims = job_claims(principal)
        async with self.sessions() as session, session.begin():
            await session.execute(
                insert(export_jobs).values(
                    id=job_id,
                    entity=entity,
                    format=file_format,
                    filters=dict(filters),
                    claims=claims,
                    created_by=principal.subject_id,
                    status="queued",
                    rows_written=0,
                    bytes_written=0,
                    chunks=0,
                    error="",
                    created_at=self.clock(),
                )
            )
            job = (await session.execute(select(export_jobs).where(export_jobs.c.id == job_id))).one()
            await self._audit(session, "requested", job, principal.subject_id, principal.org_path)
        return job

    async def get(self, principal: Principal, job_id: str) -> Any:
        async with self.reader() as session:
            job = (await session.execute(select(export_jobs).where(export_jobs.c.id == job_id))).one_or_none()
        if job is None or job.created_by != principal.subject_id:  # only the creator sees it
            raise NotFound(f"export {job_id!r} does not exist", "id")
        return job

    async def list(self, principal: Principal) -> list[Any]:
        async with self.reader() as session:
            return list(
                (
                    await session.execute(
                        select(export_jobs)
                        .where(export_jobs.c.created_by == principal.subject_id)
                        .order_by(export_jobs.c.id.desc())
                        .limit(100)
                    )
                ).all()
            )

    async def chunk(self, principal: Principal, job_id: str, seq: int) -> tuple[bytes, int]:
        """(chunk `seq` of the file, how many chunks); asking for chunk 0 is a download (audited)."""
        job = await self.get(principal, job_id)
        if job.status != "ready":
            raise ValidationFailed(f"the export is {job.status}, not ready", "id")
        if not 0 <= seq < max(job.chunks, 1):
            raise ValidationFailed(f"must be between 0 and {job.chunks - 1}", "seq")
        if seq == 0:
            async with self.sessions() as session, session.begin():
                await self._audit(
                    session, "downloaded", job, principal.subject_id, principal.org_path, rows=job.rows_written
                )
        async with self.reader() as session:
            data = await session.scalar(
                select(export_chunks.c.data).where(export_chunks.c.job_id == job.id, export_chunks.c.seq == seq)
            )
        return data or b"", job.chunks

    # --- the runner ------------------------------------------------------------------------------

    async def run_next(self) -> str | None:
        """Claim the oldest queued job and write its file; returns its id (None: nothing queued)."""
        async with self.sessions() as session, session.begin():
            job = (
                await session.execute(
                    select(export_jobs).where(export_jobs.c.status == "queued").order_by(export_jobs.c.id).limit(1)
                )
            ).one_or_none()
            if job is None:
                return None
            claimed = await session.execute(
                update(export_jobs)
                .where(export_jobs.c.id == job.id, export_jobs.c.status == "queued")
                .values(status="running", started_at=self.clock())
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's CursorResult
                return str(job.id)
        try:
            await self._write(job)
        except Exception as exc:
            log.exception("export %s failed", job.id)
            async with self.sessions() as session, session.begin():
                await session.execute(delete(export_chunks).where(export_chunks.c.job_id == job.id))
                await session.execute(
                    update(export_jobs)
                    .where(export_jobs.c.id == job.id)
                    .values(status="failed", error=str(exc)[:1000], finished_at=self.clock())
                )
        return str(job.id)

    async def _write(self, job: Any) -> None:
        exporter = self.exporters[job.entity]
        acting = principal_from_claims(job.claims)
        rows = size = seq = 0

        async def store(chunk: bytes) -> None:
            nonlocal size, seq
            async with self.sessions() as session, session.begin():
                await session.execute(insert(export_chunks).values(job_id=job.id, seq=seq, data=chunk))
                await session.execute(
                    update(export_jobs)
                    .where(export_jobs.c.id == job.id)
                    .values(rows_written=rows, bytes_written=size + len(chunk), chunks=seq + 1)
                )
            size += len(chunk)
            seq += 1

        if exporter.table is not None:
            header, table = await exporter.table(acting, job.filters)
            writer = files.writer_for(job.format, header)
            for row in table:
                rows += 1
                for chunk in writer.add(row):
                    await store(chunk)
        else:
            assert exporter.rows is not None
            async with self.reader() as session:
                keys = (
                    [d.key for d in await load_definitions(session, exporter.custom_fields)]
                    if exporter.custom_fields
                    else []
                )
            writer = files.writer_for(job.format, [*exporter.header, *(COLUMN_PREFIX + key for key in keys)])
            async with self.reader() as session:
                async for row in exporter.rows(session, acting, job.filters):
                    if exporter.custom_fields:
                        values = row[-1] or {}
                        row = (*row[:-1], *(cell_text(values[k]) if k in values else "" for k in keys))
                    rows += 1
                    for chunk in writer.add(row):
                        await store(chunk)
                    if rows % self.progress_every == 0:
                        async with self.sessions() as progress, progress.begin():
                            await progress.execute(
                                update(export_jobs).where(export_jobs.c.id == job.id).values(rows_written=rows)
                            )
        for chunk in writer.finish():
            await store(chunk)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(export_jobs)
                .where(export_jobs.c.id == job.id)
                .values(status="ready", rows_written=rows, finished_at=now, expires_at=now + self.retention)
            )
            await self._audit(session, "completed", job, acting.subject_id, acting.org_path, rows=rows, status="ready")

    async def run_all(self) -> int:
        done = 0
        while await self.run_next() is not None:
            done += 1
        return done

    async def purge_expired(self) -> int:
        """Delete the files of exports past their retention; the job stays, marked expired."""
        now: datetime = self.clock()
        async with self.sessions() as session, session.begin():
            ids = list(
                (
                    await session.scalars(
                        select(export_jobs.c.id).where(export_jobs.c.status == "ready", export_jobs.c.expires_at <= now)
                    )
                ).all()
            )
            if ids:
                await session.execute(delete(export_chunks).where(export_chunks.c.job_id.in_(ids)))
                await session.execute(
                    update(export_jobs).where(export_jobs.c.id.in_(ids)).values(status="expired", chunks=0)
                )
        return len(ids)
