"""Pipeline settings: the common ones plus the SLA engine's pace."""
from __future__ import annotations

from pydantic import Field

from salesgrid_common.settings import ServiceSettings

from salesgrid_pipeline.domain.leads import RECLAIM_AFTER_DAYS


class PipelineSettings(ServiceSettings):
    sla_scan_seconds: float = Field(default=60.0, gt=0)  # how often the SLA engine looks for late stages
    lead_reclaim_days: int = Field(default=RECLAIM_AFTER_DAYS, gt=0)  # unfollowed leads go back to the pool
