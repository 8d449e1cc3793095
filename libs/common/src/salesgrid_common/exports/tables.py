"""Tables of export jobs, in the database of each service that serves them. The file lives in
the database as ordered chunks: every replica can serve the download, nothing depends on a pod's
disk, and the retention sweep deletes both."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, LargeBinary, MetaData, String, Table, Text

from salesgrid_common.db import UtcDateTime

export_metadata = MetaData()

export_jobs = Table(
    "export_jobs",
    export_metadata,
    Column("id", String(36), primary_key=True),
    Column("entity", String(40), nullable=False),
    Column("format", String(8), nullable=False),
    Column("filters", JSON, nullable=False),
    Column("claims", JSON, nullable=False),  # the creator's token claims (never the token)
    Column("created_by", String(36), nullable=False, index=True),
    Column("status", String(10), nullable=False),  # queued | running | ready | failed | expired
    Column("rows_written", BigInteger, nullable=False, default=0),
    Column("bytes_written", BigInteger, nullable=False, default=0),
    Column("chunks", Integer, nullable=False, default=0),
    Column("error", Text, nullable=False, default=""),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime(), nullable=True),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("expires_at", UtcDateTime(), nullable=True),
    Index("ix_export_jobs_status", "status", "id"),
)

export_chunks = Table(
    "export_chunks",
    export_metadata,
    Column("job_id", String(36), ForeignKey("export_jobs.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)
