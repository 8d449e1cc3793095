"""Tables of import jobs, in the database of each service that imports with ImportJobs (jobs.py):
the job (the importer's token claims act for him on every row) and its staged rows, each with
its outcome. A row's id is "<job id>:<row, zero-padded>" so it orders by row within its job (the
keyset of the paged errors)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, MetaData, String, Table

from salesgrid_common.db import UtcDateTime

import_metadata = MetaData()

import_jobs = Table(
    "import_jobs",
    import_metadata,
    Column("id", String(36), primary_key=True),
    Column("entity", String(40), nullable=False),
    Column("status", String(16), nullable=False),  # queued | running | done
    Column("format", String(8), nullable=False),
    Column("claims", JSON, nullable=False),
    Column("created_by", String(36), nullable=False, index=True),
    Column("total", Integer, nullable=False, default=0),
    Column("processed", Integer, nullable=False, default=0),
    Column("created", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    Index("ix_import_jobs_status", "status", "id"),
)

import_rows = Table(
    "import_rows",
    import_metadata,
    Column("id", String(48), primary_key=True),
    Column("job_id", String(36), ForeignKey("import_jobs.id"), nullable=False),
    Column("row_number", Integer, nullable=False),
    Column("data", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # pending | created | error
    Column("record_id", String(36), nullable=True),
    Column("error_column", String(64), nullable=True),
    Column("error_message", String(1000), nullable=True),
    Index("ix_import_rows_job_status", "job_id", "status", "id"),
)
