"""Sessions use cases."""

from __future__ import annotations

import dataclasses
import secrets
from datetime import timedelta
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.db import reading
from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import FailedPrecondition, PermissionDenied, ResourceExhausted, Unauthenticated
from salesgrid_common.ids import new_id
from salesgrid_identity.domain import lockout, passwords, throttling
from salesgrid_identity.domain.sessions import RefreshToken, refresh_hash
from salesgrid_identity.domain.throttling import LoginFailure
from salesgrid_identity.domain.users import User
from salesgrid_identity.stores.login_failures import address_history, record_failure
from salesgrid_identity.stores.refresh_tokens import insert_token, revoke_family, revoke_token, token_by_hash
from salesgrid_identity.stores.standing import Standing, standing_by_id, standing_by_login
from salesgrid_identity.stores.users import save_sign_in_state
from salesgrid_identity.usecases.login_protection import FailedLogin

from salesgrid_identity.usecases._support import (
    principal_of,
    refuse_outside_allowlist,
    IdentityUseCasesBase,
    Tokens,
    _verify_password,
)


LOGIN_FAILED = "invalid login or password"  # one message for unknown login and wrong password


class SessionsMixin(IdentityUseCasesBase):
    """IdentityUseCases: sessions."""

    async def _issue(
        self, session: AsyncSession, standing: Standing, user: User, family_id: str | None = None
    ) -> Tokens:
        """Tokens for `user` (his sign-in state as just saved) with the principal of his standing."""
        principal = dataclasses.replace(
            principal_of(standing), password_change_required=self._password_change_required(user)
        )
        refresh = secrets.token_urlsafe(32)
        now = self.clock()
        await insert_token(
            session,
            RefreshToken(
                id=new_id(),
                user_id=user.id,
                token_hash=refresh_hash(refresh),
                family_id=family_id or new_id(),
                expires_at=now + timedelta(seconds=self.settings.refresh_token_ttl_seconds),
                created_at=now,
            ),
        )
        return Tokens(
            self._sign(principal, self.settings.access_token_ttl_seconds),
            refresh,
            self.settings.access_token_ttl_seconds,
            self._password_change_required(user),
        )

    def _password_change_required(self, user: User) -> bool:
        return user.must_change_password or passwords.is_expired(
            user.password_changed_at, self.password_policy, self.clock()
        )

    async def login(self, login: str, password: str, client_ip: str) -> Tokens:
        try:
            return await self._login(login, password, client_ip)
        except FailedLogin as failed:
            # Paused after the transaction ended: a throttled address holds no connection meanwhile.
            await self.sleep(failed.delay.total_seconds())
            raise Unauthenticated(LOGIN_FAILED) from None

    async def _login(self, login: str, password: str, client_ip: str) -> Tokens:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            history = await address_history(session, client_ip, login[:100], now - self.throttle_policy.window)
            if client_ip and throttling.refuse_before_check(history, self.throttle_policy):
                wait = throttling.retry_after(history, self.throttle_policy, now)
                await self.audit(
                    session,
                    "auth.login",
                    actor_id="",
                    actor_ip=client_ip,
                    outcome="denied",
                    detail=f"throttled: repeated failures of this login from this address (login {login})",
                )
                await session.commit()  # the refusal is audited although the call fails
                raise ResourceExhausted(
                    "too many failed logins for this login from this address; try again in "
                    f"{max(1, round(wait.total_seconds() / 60))} minutes",
                    info={"retry_after_seconds": str(max(1, int(wait.total_seconds())))},
                )
            standing = await standing_by_login(session, login)  # with his unit's allow-list and roles
            if standing is None or not standing.user.active:
                await _verify_password(passwords.DUMMY_HASH, password)  # same timing as a real check
                await self._record_failure(session, login, client_ip, None, "unknown or inactive login", history)
            user = standing.user
            if lockout.is_locked(user.locked_until, now):
                await self.audit(
                    session,
                    "auth.login",
                    actor_id=user.id,
                    actor_ip=client_ip,
                    outcome="denied",
                    target_type="user",
                    target_id=user.id,
                    detail="account locked",
                )
                await session.commit()
                raise FailedPrecondition(
                    "account is locked after repeated failures; ask an administrator or try again later"
                )
            if not await _verify_password(user.password_hash, password):
                user = await save_sign_in_state(session, user, user.after_failed_login(self.lockout_policy, now))
                await self._record_failure(session, login, client_ip, user, "wrong password", history)
            try:
                refuse_outside_allowlist(client_ip, standing.ip_allowlist)
            except PermissionDenied:
                await self.audit(
                    session,
                    "auth.login",
                    actor_id=user.id,
                    actor_ip=client_ip,
                    outcome="denied",
                    target_type="user",
                    target_id=user.id,
                    detail="address not in allow-list",
                )
                await session.commit()
                raise
            user = await save_sign_in_state(session, user, user.unlocked())
            tokens = await self._issue(session, standing, user)
            await self.audit(
                session, "auth.login", actor_id=user.id, actor_ip=client_ip, target_type="user", target_id=user.id
            )
            return tokens

    async def _record_failure(
        self,
        session: AsyncSession,
        login: str,
        client_ip: str,
        user: User | None,
        reason: str,
        history: throttling.AddressHistory,
    ) -> NoReturn:
        """Failures are committed even though the login call fails; raises the failed login with
        the pause its address has earned."""
        await record_failure(
            session, LoginFailure(id=new_id(), client_ip=client_ip, login=login[:100], at=self.clock())
        )
        await self.audit(
            session,
            "auth.login",
            actor_id=user.id if user else "",
            actor_ip=client_ip,
            target_type="user",
            target_id=user.id if user else "",
            outcome="failure",
            detail=f"{reason} (login {login[:100]})",
        )
        await session.commit()
        delay = throttling.failure_delay(history.address_failures + 1, self.throttle_policy) if client_ip else None
        raise FailedLogin(delay or timedelta(0))

    async def refresh(self, refresh_token: str, client_ip: str) -> Tokens:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            token = await token_by_hash(session, refresh_hash(refresh_token))
            if token is None or token.expired(now):
                raise Unauthenticated("refresh token is invalid or expired")
            if token.revoked_at is not None:
                # A rotated token used again: someone holds a stolen copy. Revoke the whole family.
                await revoke_family(session, token.family_id, now)
                await self.audit(
                    session,
                    "auth.refresh",
                    actor_id=token.user_id,
                    actor_ip=client_ip,
                    outcome="denied",
                    detail="reuse of a rotated refresh token; session revoked",
                )
                await session.commit()
                raise Unauthenticated("refresh token is invalid or expired")
            standing = await standing_by_id(session, token.user_id)  # with his unit's allow-list and roles
            if standing is None or not standing.user.active:
                raise Unauthenticated("refresh token is invalid or expired")
            refuse_outside_allowlist(client_ip, standing.ip_allowlist)
            await revoke_token(session, token, now)
            return await self._issue(session, standing, standing.user, token.family_id)

    async def logout(self, refresh_token: str) -> None:
        async with self.sessions() as session, session.begin():
            token = await token_by_hash(session, refresh_hash(refresh_token))
            if token is None:
                return
            await revoke_family(session, token.family_id, self.clock())
            await self.audit(
                session, "auth.logout", actor_id=token.user_id, target_type="user", target_id=token.user_id
            )

    async def me(self, principal: Principal) -> tuple[User | None, Principal]:
        if principal.kind == "api_key":
            return None, principal
        if principal.kind != "user":
            raise PermissionDenied("only people have a user record")
        async with reading(self.reader) as reads:
            standing = await standing_by_id(reads, principal.subject_id)  # one statement
        if standing is None or not standing.user.active:
            raise Unauthenticated("user is deactivated")
        current = principal_of(standing)  # carries the allow-list in force
        refuse_outside_allowlist(principal.client_ip, current.ip_allowlist)
        return standing.user, current
