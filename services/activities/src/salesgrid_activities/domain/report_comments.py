"""A comment on a daily report (who may write one: daily_reports.check_comment)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ReportComment:
    id: str
    report_id: str
    author_id: str
    body: str
    created_at: datetime
