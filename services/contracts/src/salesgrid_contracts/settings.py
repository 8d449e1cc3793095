"""Contracts settings: the common ones, the pipeline's address and the reminder scheduler's pace."""
from __future__ import annotations

from pydantic import Field

from salesgrid_common.settings import ServiceSettings


class ContractsSettings(ServiceSettings):
    pipeline_addr: str = "127.0.0.1:50053"  # SALESGRID_PIPELINE_ADDR: won opportunities are checked there
    reminder_scan_seconds: float = Field(default=60.0, gt=0)  # how often reminders are looked for
