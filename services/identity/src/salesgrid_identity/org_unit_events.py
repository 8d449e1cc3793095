"""The payload of the org unit's events, built from the domain OrgUnit in this one place."""

from __future__ import annotations

from salesgrid.events.v1.identity_events_pb2 import OrgUnitState
from salesgrid_identity.domain.org import OrgUnit


def org_unit_state(unit: OrgUnit, previous_path: str = "") -> OrgUnitState:
    """The unit as its `created`/`updated`/`moved`/`deactivated` events carry it (`previous_path`:
    where a moved unit was)."""
    return OrgUnitState(
        unit_id=unit.id,
        parent_id=unit.parent_id or "",
        name=unit.name,
        path=unit.path,
        previous_path=previous_path,
        time_zone=unit.time_zone,
        currency=unit.currency,
        active=unit.active,
        kind=unit.kind,
        code=unit.code,
    )
