"""salesgrid.common.v1 import messages from the jobs' values (imports.proto)."""

from __future__ import annotations

from collections.abc import Iterable

from salesgrid.common.v1 import imports_pb2 as pb
from salesgrid_common.imports.model import ImportJob, RowError
from salesgrid_common.protos import to_timestamp


def job_pb(job: ImportJob, errors: Iterable[RowError] = (), next_cursor: str = "") -> pb.ImportJob:
    return pb.ImportJob(
        id=job.id,
        status=job.status,
        format=job.format,
        total=job.total,
        processed=job.processed,
        created=job.created,
        failed=job.failed,
        errors=[pb.ImportRowError(row=e.row_number, column=e.column, message=e.message) for e in errors],
        next_cursor=next_cursor,
        created_at=to_timestamp(job.created_at),
        finished_at=to_timestamp(job.finished_at),
        created_by=job.created_by,
    )
