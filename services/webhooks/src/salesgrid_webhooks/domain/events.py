"""Which bus events a subscription may name and which read permissions guard each (the bus's
catalogue, salesgrid_common.events.catalogue, is the one list): a subscriber receives an event
only if its owner could read the record (every guarding `<resource>:read` in scope for the
record's org path). Payloads are thin -- the event's id, type, time and record id -- and the
partner reads the record through the API, where the owning service applies every field rule."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import salesgrid_common.events.catalogue as catalogue
from salesgrid_common.scopes import Scope
from salesgrid_common.errors import ValidationFailed

# salesgrid.<service>.<aggregate> -> the permissions needed to read the record: from the bus's
# catalogue (salesgrid_common.events.catalogue), the one list of what partners may receive.
READ_PERMISSIONS: dict[str, tuple[str, ...]] = catalogue.deliverable_aggregates()
PRODUCERS = tuple(sorted({aggregate.split(".")[1] for aggregate in READ_PERMISSIONS}))
_TYPE = re.compile(r"^salesgrid\.[a-z_]+\.[a-z_]+\.([a-z_]+|\*)$")
MAX_TYPES = 50


aggregate_of = catalogue.aggregate_of


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
        if aggregate_of(event_type) not in READ_PERMISSIONS or not (
            event_type.endswith(".*") or catalogue.deliverable(event_type)
        ):
            raise ValidationFailed(
                f"{event_type!r}: no webhooks for {aggregate_of(event_type)!r}; see GET /v1/webhook-event-types", field
            )
    return sorted(set(types))


def matches(patterns: Sequence[str], event_type: str) -> bool:
    """Whether a subscription's types name this event (never a re-statement: it changes nothing)."""
    if not catalogue.deliverable(event_type):
        return False
    aggregate = aggregate_of(event_type)
    return any(p == event_type or (p.endswith(".*") and p[:-2] == aggregate) for p in patterns)


def visible(permissions: Mapping[str, str], owner_org_path: str, event_type: str, record_org_path: str) -> bool:
    """Whether the subscription's owner may read the record: every permission that guards the
    aggregate, each in scope for the record's org path (records of the owner's own (OWN scope)
    are not told apart from the envelope, so OWN sees none -- closed, never open)."""
    required = READ_PERMISSIONS.get(aggregate_of(event_type))
    if not required:
        return False
    return all(_in_scope(permissions.get(p), owner_org_path, record_org_path) for p in required)


def _in_scope(granted: str | None, owner_org_path: str, record_org_path: str) -> bool:
    if granted is None:
        return False
    scope = Scope.parse(granted)
    if scope is Scope.ALL:
        return True
    if not owner_org_path or not record_org_path:
        return False
    if scope is Scope.SUBTREE:
        return record_org_path.startswith(owner_org_path)
    if scope is Scope.TEAM:
        return record_org_path == owner_org_path
    return False
