"""Expenses settings: the common ones and the approval reminders' pace."""
from __future__ import annotations

from pydantic import Field

from salesgrid_common.settings import ServiceSettings


class ExpensesSettings(ServiceSettings):
    reminder_scan_seconds: float = Field(default=300.0, gt=0)  # how often waiting approvers are looked for
    approval_reminder_hours: float = Field(default=24.0, gt=0)  # a step waiting this long reminds its approver
