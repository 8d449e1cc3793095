"""The bus's catalogue: every aggregate `salesgrid.<service>.<aggregate>` whose events are
published, and who may read its records -- the one place that says which events partners can
receive by webhook and which read permission (in the subscriber's data scope) guards each.

An aggregate is either *readable* (`read`: the permissions a subscriber's owner must all hold,
in scope for the record's org path, to receive its events -- the same permissions its API asks
for) or *internal* (`internal`: why no partner receives it: notices meant for one person,
configuration, audit facts, the platform's own plumbing). Every aggregate on the bus is one or
the other: `libs/common/tests/test_common_event_catalogue.py` fails when a producer or an event
message documents an aggregate missing here, so a new event is never silently undeliverable nor
delivered unguarded. Verbs in `RESTATEMENTS` re-state a record without a change (a backfill for
projections, e.g. `salesgrid.customers.customer.restated`) and are never sent to partners."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Aggregate:
    read: tuple[str, ...] = ()
    internal: str = ""

    @property
    def deliverable(self) -> bool:
        return bool(self.read)


def _read(*permissions: str) -> Aggregate:
    return Aggregate(read=permissions)


def _internal(why: str) -> Aggregate:
    return Aggregate(internal=why)


_CONFIG = "configuration of a unit or the platform, not a record partners sync"
_NOTICE = "a notice addressed to particular people (their inbox), not a record"
_EXPORTS = "an export job belongs to the person who asked for it (the audit trail records it)"
_CUSTOM_FIELDS = _read("custom_fields:read")  # definitions of the fields a service's records carry

AGGREGATES: Mapping[str, Aggregate] = {
    # customers
    "salesgrid.customers.customer": _read("customers:read"),  # contacts' events are the customer's
    "salesgrid.customers.share_request": _internal("a request between two people, answered in their inboxes"),
    "salesgrid.customers.custom_field": _CUSTOM_FIELDS,
    "salesgrid.customers.export": _internal(_EXPORTS),
    # pipeline
    "salesgrid.pipeline.lead": _read("leads:read"),
    "salesgrid.pipeline.opportunity": _read("opportunities:read"),
    "salesgrid.pipeline.quote": _read("quotes:read"),
    "salesgrid.pipeline.discount_approval": _read("quotes:read"),  # 特批折扣 steps; the id is the quote's
    "salesgrid.pipeline.stage_model": _read("stage_models:read"),
    "salesgrid.pipeline.custom_field": _CUSTOM_FIELDS,
    "salesgrid.pipeline.gate": _internal("a refused stage move: it changed no record"),
    "salesgrid.pipeline.sla": _internal(_NOTICE),
    "salesgrid.pipeline.discount_policy": _internal(_CONFIG),
    "salesgrid.pipeline.export": _internal(_EXPORTS),
    # activities
    "salesgrid.activities.follow_up": _read("activities:read"),
    "salesgrid.activities.check_in": _read("activities:read"),
    "salesgrid.activities.check_out": _read("activities:read"),
    "salesgrid.activities.task": _read("tasks:read"),
    "salesgrid.activities.daily_report": _read("daily_reports:read"),
    "salesgrid.activities.reminder": _internal(_NOTICE),
    "salesgrid.activities.announcement": _internal("its audience is fixed by its read receipts, not a data scope"),
    "salesgrid.activities.spot_check": _internal("verification work assigned to one sales administrator"),
    "salesgrid.activities.export": _internal(_EXPORTS),
    # contracts
    "salesgrid.contracts.contract": _read("contracts:read"),
    "salesgrid.contracts.approval": _read("contracts:read"),  # approval steps; the id is the contract's
    "salesgrid.contracts.invoice": _read("contracts:read"),
    "salesgrid.contracts.payment_plan": _read("contracts:read"),
    "salesgrid.contracts.receipt": _read("payments:read"),
    "salesgrid.contracts.refund": _read("payments:read"),
    "salesgrid.contracts.instalment": _read("payments:read"),
    # a printed contract or receipt: one aggregate for both kinds, so both permissions (closed)
    "salesgrid.contracts.document": _read("contracts:read", "payments:read"),
    "salesgrid.contracts.custom_field": _CUSTOM_FIELDS,
    "salesgrid.contracts.export": _internal(_EXPORTS),
    # expenses
    "salesgrid.expenses.claim": _read("expenses:read"),
    "salesgrid.expenses.approval": _read("expenses:read"),  # approval steps; the id is the claim's
    "salesgrid.expenses.receipt": _read("expenses:read"),  # a receipt attached to a claim
    "salesgrid.expenses.policy": _internal(_CONFIG),
    # identity
    "salesgrid.identity.user": _read("users:read"),
    "salesgrid.identity.org_unit": _read("org_units:read"),
    "salesgrid.identity.api_key": _internal("credentials: their holders manage them through identity"),
    "salesgrid.identity.auth": _internal("audit facts of sign-ins, for the audit trail"),
    # analytics, gateway, webhooks
    "salesgrid.analytics.export": _internal(_EXPORTS),
    "salesgrid.gateway.sensitive_read": _internal("audit facts of reads, for the audit trail"),
    "salesgrid.gateway.sensitive_reads": _internal("audit facts of reads (batched), for the audit trail"),
    "salesgrid.webhooks.subscription": _internal("a subscription's owner is told in his inbox"),
}

# Verbs that re-state a record's current state without a change (backfills of projections).
RESTATEMENTS = frozenset({"restated"})


def aggregate_of(event_type: str) -> str:
    return event_type.rsplit(".", 1)[0]


def deliverable_aggregates() -> dict[str, tuple[str, ...]]:
    """Aggregate -> the read permissions that guard it, for every aggregate partners may receive."""
    return {name: aggregate.read for name, aggregate in AGGREGATES.items() if aggregate.deliverable}


def deliverable(event_type: str) -> bool:
    """Whether an event of this exact type may reach a partner at all (before any scope check)."""
    aggregate = AGGREGATES.get(aggregate_of(event_type))
    return aggregate is not None and aggregate.deliverable and event_type.rsplit(".", 1)[1] not in RESTATEMENTS
