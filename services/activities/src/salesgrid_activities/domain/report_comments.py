"""A comment on a daily report, and who may write one (`check_comment`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ._validation import Violations
from .daily_reports import MAX_COMMENT_LENGTH, DailyReport
from .errors import PermissionDenied


@dataclass(frozen=True)
class ReportComment:
    id: str
    report_id: str
    author_id: str
    body: str
    created_at: datetime


def check_comment(report: DailyReport, *, author_id: str, may_review: bool, body: str) -> str:
    """The rep's reviewing managers comment on a report, and the rep himself to answer; nobody else."""
    if author_id != report.rep_id and not may_review:
        raise PermissionDenied("only the rep and his reviewing managers comment on a report")
    v = Violations()
    text = v.text(body, "body", max_length=MAX_COMMENT_LENGTH, required=True)
    v.raise_if_any()
    assert text is not None
    return text
