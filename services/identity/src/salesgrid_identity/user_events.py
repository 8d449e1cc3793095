"""The payload of the user's events, built from the domain User in this one place."""

from __future__ import annotations

from salesgrid.events.v1.identity_events_pb2 import UserState
from salesgrid_identity.domain.users import User


def user_state(user: User, org_path: str, time_zone: str) -> UserState:
    """The user as his `created`/`updated`/`moved`/`deactivated` events carry him, with his unit's
    path and zone."""
    return UserState(
        user_id=user.id,
        login=user.login,
        display_name=user.display_name,
        unit_id=user.unit_id,
        org_path=org_path,
        manager_id=user.manager_id or "",
        roles=list(user.roles),
        active=user.active,
        time_zone=time_zone,
    )
