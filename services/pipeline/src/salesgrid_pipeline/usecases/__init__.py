"""Pipeline use cases: each runs in one transaction, checks the caller's permission and data
scope, applies the domain rules and writes its events to the outbox in that same transaction.

Customers are checked (and, on lead conversion, created) through the customers service over
gRPC, outside the local transaction; quote lines are priced from the contracts service's
catalogue the same way. Stage models are administered per business line; an opportunity
follows the model whose code it carries (the built-in default until an admin replaces it)."""

from __future__ import annotations

from salesgrid_pipeline.usecases.stage_model import StageModelMixin
from salesgrid_pipeline.usecases.opportunities import OpportunitiesMixin
from salesgrid_pipeline.usecases.stage_moves import Decide, StageMovesMixin
from salesgrid_pipeline.usecases.quotes import (
    ContractBlock,
    QUOTE_CREATE,
    QUOTE_READ,
    QUOTE_UPDATE,
    QuoteLineRequest,
    QuotesMixin,
)
from salesgrid_pipeline.usecases.leads import LeadsMixin, _ancestor_paths
from salesgrid_pipeline.usecases.lead_imports import LeadImportsMixin
from salesgrid_pipeline.usecases.discounts import QUOTE_APPROVE
from salesgrid_pipeline.usecases.sla import SlaMixin
from salesgrid_pipeline.usecases.forecast import ForecastMixin
from salesgrid_pipeline.usecases._support import (
    LEAD_ASSIGN,
    LEAD_CREATE,
    LEAD_READ,
    LEAD_UPDATE,
    OPP_CREATE,
    OPP_READ,
    OPP_UPDATE,
    SYSTEM_ACTOR,
)


class PipelineUseCases(
    StageModelMixin,
    OpportunitiesMixin,
    StageMovesMixin,
    QuotesMixin,
    LeadImportsMixin,
    LeadsMixin,
    SlaMixin,
    ForecastMixin,
):
    """Every use case of the service: one mixin per topic, the shared helpers in _support."""


__all__ = [
    "ContractBlock",
    "Decide",
    "LEAD_ASSIGN",
    "LEAD_CREATE",
    "LEAD_READ",
    "LEAD_UPDATE",
    "OPP_CREATE",
    "OPP_READ",
    "OPP_UPDATE",
    "QUOTE_CREATE",
    "QUOTE_READ",
    "QUOTE_UPDATE",
    "QUOTE_APPROVE",
    "QuoteLineRequest",
    "SYSTEM_ACTOR",
    "_ancestor_paths",
    "PipelineUseCases",
]
