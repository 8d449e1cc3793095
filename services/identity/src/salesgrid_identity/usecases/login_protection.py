"""Login protection for administrators: the limits in force, the accounts locked or failing and
the addresses being throttled (within the caller's scope), and clearing an address's throttle.
Also the database side of the throttle the login use case applies (domain/throttling.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth import Principal, Scope, scope_filter
from salesgrid_common.errors import PermissionDenied, Unauthenticated, ValidationFailed
from salesgrid_identity.domain import throttling
from salesgrid_identity.domain.users import User
from salesgrid_identity.models import LoginFailure, OrgUnit
from salesgrid_identity.models import User as UserRow
from salesgrid_identity.stores.users import user_from_row
from salesgrid_identity.settings import IdentitySettings

if TYPE_CHECKING:
    from salesgrid_identity.usecases import IdentityUseCases


class FailedLogin(Unauthenticated):
    """A failed login, carrying the pause its address has earned before the answer goes out."""

    def __init__(self, delay: timedelta) -> None:
        super().__init__("invalid login or password")
        self.delay = delay


def throttle_policy(settings: IdentitySettings) -> throttling.ThrottlePolicy:
    return throttling.ThrottlePolicy(
        max_failures_per_address=settings.lockout_max_failures_per_ip,
        max_failures_per_pair=settings.login_throttle_failures_per_login,
        window=timedelta(minutes=settings.lockout_minutes),
        delay_step=timedelta(milliseconds=settings.login_throttle_delay_ms),
        max_delay=timedelta(milliseconds=settings.login_throttle_max_delay_ms),
    )


async def address_history(
    session: AsyncSession, client_ip: str, login: str, policy: throttling.ThrottlePolicy, now: datetime
) -> throttling.AddressHistory:
    """One indexed query: the address's failures in the window, and those of this login."""
    if not client_ip:
        return throttling.AddressHistory(0, 0)
    pair = LoginFailure.login == login[:100]
    row = (
        await session.execute(
            select(func.count(), func.count(case((pair, 1))), func.min(case((pair, LoginFailure.at)))).where(
                LoginFailure.client_ip == client_ip, LoginFailure.at > now - policy.window
            )
        )
    ).one()
    return throttling.AddressHistory(row[0] or 0, row[1] or 0, row[2])


@dataclass(frozen=True)
class LockedAccount:
    user: User
    org_path: str


@dataclass(frozen=True)
class ThrottledAddress:
    address: str
    failures: int
    logins: int
    throttled_until: datetime


@dataclass(frozen=True)
class ProtectionView:
    policy: throttling.ThrottlePolicy
    max_failures_per_account: int
    account_lock: timedelta
    accounts: list[LockedAccount]
    addresses: list[ThrottledAddress]


class LoginProtectionUseCases:
    def __init__(self, identity: IdentityUseCases) -> None:
        self.identity = identity

    async def view(self, principal: Principal, limit: int = 200) -> ProtectionView:
        """Accounts locked or with failures (those the caller may unlock), and, for company-wide
        user administrators only, the throttled addresses (an address is no unit's own)."""
        scope = principal.require("users:update")
        uc = self.identity
        now = uc.clock()
        policy = uc.throttle_policy
        async with uc.reader() as session:
            rows = (
                await session.execute(
                    select(UserRow, OrgUnit.path)
                    .join(OrgUnit, UserRow.unit_id == OrgUnit.id)
                    .where(
                        scope_filter(principal, "users:update", UserRow.id, OrgUnit.path),
                        (UserRow.failed_attempts > 0) | (UserRow.locked_until > now),
                    )
                    .order_by(UserRow.locked_until.desc(), UserRow.id)
                    .limit(limit)
                )
            ).all()
            addresses: list[ThrottledAddress] = []
            if scope is Scope.ALL:
                grouped = (
                    await session.execute(
                        select(
                            LoginFailure.client_ip,
                            func.count(),
                            func.count(func.distinct(LoginFailure.login)),
                            func.max(LoginFailure.at),
                        )
                        .where(LoginFailure.at > now - policy.window, LoginFailure.client_ip != "")
                        .group_by(LoginFailure.client_ip)
                        .having(func.count() >= policy.max_failures_per_address)
                        .order_by(func.count().desc())
                        .limit(limit)
                    )
                ).all()
                addresses = [
                    ThrottledAddress(ip, count, logins, throttling.throttled_until(newest, policy))
                    for ip, count, logins, newest in grouped
                ]
        return ProtectionView(
            policy,
            uc.lockout_policy.max_failures_per_account,
            uc.lockout_policy.lock_duration,
            [LockedAccount(user_from_row(user), path) for user, path in rows],
            addresses,
        )

    async def clear_address(self, principal: Principal, address: str) -> int:
        """Forget an address's recorded failures (its throttle ends); audited. Accounts keep
        their own lock, which UnlockUser lifts."""
        if principal.require("users:update") is not Scope.ALL:
            raise PermissionDenied("address throttles are cleared by company-wide user administrators")
        address = address.strip()
        if not address or len(address) > 64:
            raise ValidationFailed("must be an address of 1-64 characters", "address")
        uc = self.identity
        async with uc.sessions() as session, session.begin():
            cleared = (await session.execute(delete(LoginFailure).where(LoginFailure.client_ip == address))).rowcount
            await uc.audit(
                session,
                "auth.throttle.clear",
                actor_id=principal.subject_id,
                actor_ip=principal.client_ip,
                target_type="address",
                target_id=address[:36],
                detail=f"{cleared} recorded failures from {address} cleared",
            )
        return cleared or 0
