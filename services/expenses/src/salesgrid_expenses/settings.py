"""Expenses settings: the common ones, the customers and pipeline services' addresses and the
approval reminders' pace."""

from __future__ import annotations

from pydantic import Field

from salesgrid_common.settings import ServiceSettings


class ExpensesSettings(ServiceSettings):
    customers_addr: str = "127.0.0.1:50052"  # SALESGRID_CUSTOMERS_ADDR: linked customers are checked there
    pipeline_addr: str = "127.0.0.1:50053"  # SALESGRID_PIPELINE_ADDR: linked opportunities are checked there
    reminder_scan_seconds: float = Field(default=300.0, gt=0)  # how often waiting approvers are looked for
    approval_reminder_hours: float = Field(default=24.0, gt=0)  # a step waiting this long reminds its approver
