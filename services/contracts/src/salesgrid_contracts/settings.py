"""Contracts settings: the common ones, the pipeline's address, the reminder scheduler's pace and
the company's letterhead on printed documents."""

from __future__ import annotations

from pydantic import Field

from salesgrid_common.settings import ServiceSettings


class ContractsSettings(ServiceSettings):
    pipeline_addr: str = "127.0.0.1:50053"  # SALESGRID_PIPELINE_ADDR: won opportunities are checked there
    reminder_scan_seconds: float = Field(default=60.0, gt=0)  # how often reminders are looked for
    # The letterhead of printed receipts and contracts (SALESGRID_COMPANY_NAME, _ADDRESS, _PHONE).
    company_name: str = Field(default="Salesgrid 示范公司", min_length=1, max_length=200)
    company_address: str = Field(default="", max_length=300)
    company_phone: str = Field(default="", max_length=60)
