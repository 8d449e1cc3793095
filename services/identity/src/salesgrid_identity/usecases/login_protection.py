"""Login protection for administrators: the limits in force, the accounts locked or failing and
the addresses being throttled (within the caller's scope), and clearing an address's throttle.
(The throttle the login use case applies: domain/throttling.py, stores/login_failures.py.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from salesgrid_common.auth.principal import Principal
from salesgrid_common.scopes import Scope
from salesgrid_common.errors import PermissionDenied, Unauthenticated, ValidationFailed
from salesgrid_identity.domain import throttling
from salesgrid_identity.domain.users import User
from salesgrid_identity.settings import IdentitySettings
from salesgrid_identity.stores.login_failures import failing_addresses, forget_address
from salesgrid_identity.stores.users import failing_accounts

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
            accounts = await failing_accounts(session, principal, now, limit)
            addresses: list[ThrottledAddress] = []
            if scope is Scope.ALL:
                failing = await failing_addresses(session, now - policy.window, policy.max_failures_per_address, limit)
                addresses = [
                    ThrottledAddress(a.address, a.failures, a.logins, throttling.throttled_until(a.newest, policy))
                    for a in failing
                ]
        return ProtectionView(
            policy,
            uc.lockout_policy.max_failures_per_account,
            uc.lockout_policy.lock_duration,
            [LockedAccount(user, path) for user, path in accounts],
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
            cleared = await forget_address(session, address)
            await uc.audit_by(
                session,
                principal,
                "auth.throttle.clear",
                "address",
                address[:36],
                detail=f"{cleared} recorded failures from {address} cleared",
            )
        return cleared
