"""Pipeline settings: the common ones, the SLA engine's pace and the customers and contracts services' addresses."""

from __future__ import annotations

from pydantic import Field

from salesgrid_common.settings import ServiceSettings

from salesgrid_pipeline.domain.leads import RECLAIM_AFTER_DAYS


class PipelineSettings(ServiceSettings):
    sla_scan_seconds: float = Field(default=60.0, gt=0)  # how often the SLA engine looks for late stages
    import_seconds: float = Field(default=2.0, gt=0)  # pause between lead import runs (a run empties the queue)
    lead_reclaim_days: int = Field(default=RECLAIM_AFTER_DAYS, gt=0)  # unfollowed leads go back to the pool
    customers_addr: str = "127.0.0.1:50052"  # SALESGRID_CUSTOMERS_ADDR: opportunities check their customer there
    contracts_addr: str = "127.0.0.1:50055"  # SALESGRID_CONTRACTS_ADDR: quote lines are priced from its catalogue
