"""Customer use cases: each runs in one transaction, checks the caller's permission and data
scope in its queries, applies the domain rules and writes its events to the outbox in that
same transaction."""

from __future__ import annotations

from salesgrid_customers.usecases.customers import CustomerChanges, CustomersMixin, LIST_ORDERS, SEARCH_CANDIDATES
from salesgrid_customers.usecases.dedup import DedupMixin
from salesgrid_customers.usecases.contacts import ContactsMixin
from salesgrid_customers.usecases.sharing import SharingMixin
from salesgrid_customers.usecases.pool import PoolMixin, SCAN_BATCH
from salesgrid_customers.usecases.overview import Overview, OverviewMixin
from salesgrid_customers.usecases.merge import MergeMixin
from salesgrid_customers.usecases.ownership import OwnershipMixin
from salesgrid_customers.usecases.partners import PartnersMixin
from salesgrid_customers.usecases.imports import (
    IMPORT_BATCH,
    IMPORT_STAGE_BATCH,
    ImportsMixin,
    import_row_id,
)
from salesgrid_customers.usecases._support import (
    AddressInput,
    POLICY_FIELDS,
    SYSTEM_ACTOR,
    actor_of,
    unit_path,
)
from salesgrid_customers.stores.shares import shared_with
from salesgrid_customers.stores.duplicates import KEY_POSTINGS, MAX_CANDIDATES
from salesgrid_customers.usecases.share_requests import ShareRequestUseCases, ShareRequestView


class CustomersUseCases(
    CustomersMixin,
    DedupMixin,
    ContactsMixin,
    SharingMixin,
    PoolMixin,
    OverviewMixin,
    MergeMixin,
    OwnershipMixin,
    ImportsMixin,
    PartnersMixin,
):
    """Every use case of the service: one mixin per topic, the shared helpers in _support."""


__all__ = [
    "AddressInput",
    "CustomerChanges",
    "IMPORT_BATCH",
    "IMPORT_STAGE_BATCH",
    "KEY_POSTINGS",
    "LIST_ORDERS",
    "MAX_CANDIDATES",
    "Overview",
    "POLICY_FIELDS",
    "SCAN_BATCH",
    "SEARCH_CANDIDATES",
    "SYSTEM_ACTOR",
    "actor_of",
    "import_row_id",
    "shared_with",
    "unit_path",
    "CustomersUseCases",
    "ShareRequestUseCases",
    "ShareRequestView",
]
