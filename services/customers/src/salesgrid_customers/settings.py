"""Customers settings: the common ones plus the public-pool scheduler's pace."""

from __future__ import annotations

from pydantic import Field

from salesgrid_common.settings import ServiceSettings


class CustomersSettings(ServiceSettings):
    pool_scan_seconds: float = Field(default=300.0, gt=0)  # how often the automatic return scans owned customers
    import_seconds: float = Field(default=2.0, gt=0)  # pause between import batches (a batch runs to its end)
    export_seconds: float = Field(default=2.0, gt=0)  # pause between export runs (a run empties the queue)
    export_retention_hours: float = Field(default=24.0, gt=0)  # files are deleted after this
