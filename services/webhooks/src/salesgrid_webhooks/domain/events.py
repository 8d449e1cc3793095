"""Which bus events a subscription may name and which read permission guards each: a subscriber
receives an event only if its owner could read the record (`<resource>:read` in scope for the
record's org path). Payloads are thin -- the event's id, type, time and record id -- and the
partner reads the record through the API, where the owning service applies every field rule."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from salesgrid_common.scopes import Scope
from salesgrid_common.errors import ValidationFailed

# salesgrid.<service>.<aggregate> -> the permission needed to read the record
READ_PERMISSION: dict[str, str] = {
    "salesgrid.customers.customer": "customers:read",
    "salesgrid.pipeline.lead": "leads:read",
    "salesgrid.pipeline.opportunity": "opportunities:read",
    "salesgrid.pipeline.quote": "quotes:read",
    "salesgrid.activities.follow_up": "activities:read",
    "salesgrid.activities.check_in": "activities:read",
    "salesgrid.activities.task": "tasks:read",
    "salesgrid.activities.daily_report": "daily_reports:read",
    "salesgrid.contracts.contract": "contracts:read",
    "salesgrid.contracts.invoice": "contracts:read",
    "salesgrid.contracts.payment_plan": "contracts:read",
    "salesgrid.contracts.receipt": "payments:read",
    "salesgrid.contracts.refund": "payments:read",
    "salesgrid.contracts.instalment": "payments:read",
    "salesgrid.identity.user": "users:read",
    "salesgrid.identity.org_unit": "org_units:read",
}
PRODUCERS = tuple(sorted({aggregate.split(".")[1] for aggregate in READ_PERMISSION}))
_TYPE = re.compile(r"^salesgrid\.[a-z_]+\.[a-z_]+\.([a-z_]+|\*)$")
MAX_TYPES = 50


def aggregate_of(event_type: str) -> str:
    return event_type.rsplit(".", 1)[0]


def validate_event_types(types: Sequence[str], field: str = "event_types") -> list[str]:
    """Exact types (`salesgrid.customers.customer.created`) or every verb of an aggregate
    (`salesgrid.customers.customer.*`), of aggregates a subscription may receive."""
    if not types:
        raise ValidationFailed("name at least one event type", field)
    if len(types) > MAX_TYPES:
        raise ValidationFailed(f"at most {MAX_TYPES} event types", field)
    for event_type in types:
        if not _TYPE.match(event_type):
            raise ValidationFailed(f"{event_type!r} is not salesgrid.<service>.<aggregate>.<verb|*>", field)
        if aggregate_of(event_type) not in READ_PERMISSION:
            raise ValidationFailed(
                f"{event_type!r}: no webhooks for {aggregate_of(event_type)!r}; see GET /v1/webhook-event-types", field
            )
    return sorted(set(types))


def matches(patterns: Sequence[str], event_type: str) -> bool:
    aggregate = aggregate_of(event_type)
    return any(p == event_type or (p.endswith(".*") and p[:-2] == aggregate) for p in patterns)


def visible(permissions: Mapping[str, str], owner_org_path: str, event_type: str, record_org_path: str) -> bool:
    """Whether the subscription's owner may read the record (by the record's org path; records
    of the owner's own (OWN scope) are not told apart from the envelope, so OWN sees none --
    closed, never open)."""
    permission = READ_PERMISSION.get(aggregate_of(event_type))
    if permission is None or permission not in permissions:
        return False
    scope = Scope.parse(permissions[permission])
    if scope is Scope.ALL:
        return True
    if not owner_org_path or not record_org_path:
        return False
    if scope is Scope.SUBTREE:
        return record_org_path.startswith(owner_org_path)
    if scope is Scope.TEAM:
        return record_org_path == owner_org_path
    return False
