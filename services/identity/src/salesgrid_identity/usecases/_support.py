"""Helpers shared by the use-case modules of this package."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal, ip_allowed
from salesgrid_common.auth.tokens import access_claims, sign_token
from salesgrid_common.scopes import Scope
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.errors import NotFound, PermissionDenied, Unauthenticated
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.ids import new_id
from salesgrid_identity.domain import lockout, org, passwords
from salesgrid_identity.keys import SigningKeys
from salesgrid_identity.domain.users import User
from salesgrid_identity.domain.org import OrgUnit
from salesgrid_identity.settings import IdentitySettings
from salesgrid_identity.stores.org_units import get_unit
from salesgrid_identity.stores.standing import Standing, standing_by_id
from salesgrid_identity.stores.users import get_user
from salesgrid_identity.usecases.login_protection import throttle_policy


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int
    password_change_required: bool = False
    rate_limit_per_minute: int = 0  # API keys: the key's own limit (0: the default)


async def _hash_password(password: str) -> str:
    # Argon2 is deliberately slow CPU work (tens of ms); in a thread it leaves the loop serving.
    return await asyncio.to_thread(passwords.hash_password, password)


async def _verify_password(password_hash: str, password: str) -> bool:
    return await asyncio.to_thread(passwords.verify_password, password_hash, password)


class IdentityUseCasesBase:
    """What every part of IdentityUseCases shares: its wiring and the helpers more than one topic uses."""

    def __init__(
        self,
        sessions: SessionFactory,
        outbox: Outbox,
        settings: IdentitySettings,
        keys: SigningKeys,
        clock: Clock,
        reader: SessionFactory | None = None,
    ) -> None:
        self.sessions = sessions
        self.reader = reader or sessions
        self.outbox = outbox
        self.settings = settings
        self.keys = keys
        self.clock = clock
        self.password_policy = passwords.PasswordPolicy(
            settings.password_min_length, 128, settings.password_expiry_days
        )
        self.lockout_policy = lockout.LockoutPolicy(
            settings.lockout_max_failures, timedelta(minutes=settings.lockout_minutes)
        )
        self.throttle_policy = throttle_policy(settings)
        self.sleep = asyncio.sleep  # the pause before answering a throttled failure (tests replace it)

    async def _principal_for(self, session: AsyncSession, user: User) -> Principal:
        standing = await standing_by_id(session, user.id)
        if standing is None:
            raise NotFound(f"user {user.id!r} does not exist", "id")
        return principal_of(standing)

    def _sign(self, principal: Principal, ttl: int) -> str:
        claims = access_claims(
            principal,
            issuer=self.settings.jwt_issuer,
            audience=self.settings.jwt_audience,
            ttl_seconds=ttl,
            token_id=new_id(),
            now=self.clock().timestamp(),
        )
        return sign_token(claims, self.keys.private_key, self.keys.key_id)

    async def _active_user(self, session: AsyncSession, principal: Principal) -> User:
        if principal.kind != "user":
            raise PermissionDenied("only people have a user record")
        user = await get_user(session, principal.subject_id)
        if user is None or not user.active:
            raise Unauthenticated("user is deactivated")
        return user

    async def _unit(self, session: AsyncSession, unit_id: str, field: str = "id") -> OrgUnit:
        unit = await get_unit(session, unit_id)
        if unit is None:
            raise NotFound(f"org unit {unit_id!r} does not exist", field)
        return unit

    def _require_on_unit(self, principal: Principal, permission: str, unit: OrgUnit) -> None:
        scope = principal.require(permission)
        if (
            scope is Scope.ALL
            or (scope >= Scope.SUBTREE and unit.path.startswith(principal.org_path))
            or (scope is Scope.TEAM and unit.path == principal.org_path)
        ):
            return
        raise PermissionDenied(f"org unit {unit.id} is outside your data scope")


def refuse_outside_allowlist(client_ip: str, allowlist: Sequence[str]) -> None:
    if not ip_allowed(client_ip, allowlist):
        raise PermissionDenied(f"access from {client_ip or 'an unknown address'} is not allowed for this unit")


def principal_of(standing: Standing) -> Principal:
    """The principal a user's standing makes: his unit and its path, the permissions his roles
    grant (memoised by their stored grants) and the allow-list in force for his unit."""
    user = standing.user
    return Principal(
        subject_id=user.id,
        kind="user",
        unit_id=user.unit_id,
        org_path=standing.org_path,
        permissions=standing.permissions,
        roles=user.roles,
        name=user.display_name,
        ip_allowlist=standing.ip_allowlist,
    )


def allowlist_in_force(chain: list[OrgUnit]) -> list[str]:
    """The allow-list of a unit's chain (root first, the unit last): the nearest one set."""
    return org.effective_allowlist([(unit.has_ip_allowlist, list(unit.ip_allowlist)) for unit in reversed(chain)])
