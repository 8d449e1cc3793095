"""What an import's importer reads: the job's progress and its refused rows, mapped from their
rows here (the worker itself works on the staged rows: usecases.imports and bulk_create)."""

from __future__ import annotations

from salesgrid_customers import models
from salesgrid_customers.domain.imports import ImportJob, RowError


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
