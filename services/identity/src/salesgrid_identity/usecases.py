"""Identity's use cases: each runs in one transaction, applies the domain rules, writes its
events to the outbox in that same transaction, and checks the caller's permission and scope."""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.identity_events_pb2 import ApiKeyRevoked, OrgUnitState, UserState
from salesgrid_common.auth import Principal, Scope, access_claims, ip_allowed, scope_filter, sign_token
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.errors import (AlreadyExists, Conflict, FailedPrecondition, NotFound, PermissionDenied,
                                     ResourceExhausted, Unauthenticated, ValidationFailed)
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.ids import new_id
from salesgrid_identity.domain import api_keys, lockout, org, passwords, roles, throttling, unit_defaults
from salesgrid_identity.keys import SigningKeys
from salesgrid_identity.models import ApiKey, AuditEntry, LoginFailure, OrgUnit, RefreshToken, Role, User
from salesgrid_identity.settings import IdentitySettings
from salesgrid_identity.usecases_login_protection import FailedLogin, address_history, throttle_policy

LOGIN_FAILED = "invalid login or password"  # one message for unknown login and wrong password


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int
    password_change_required: bool = False
    rate_limit_per_minute: int = 0  # API keys: the key's own limit (0: the default)


def _hash_refresh(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class IdentityUseCases:
    def __init__(self, sessions: SessionFactory, outbox: Outbox, settings: IdentitySettings, keys: SigningKeys,
                 clock: Clock, reader: SessionFactory | None = None) -> None:
        self.sessions = sessions
        self.reader = reader or sessions
        self.outbox = outbox
        self.settings = settings
        self.keys = keys
        self.clock = clock
        self.password_policy = passwords.PasswordPolicy(settings.password_min_length, 128,
                                                        settings.password_expiry_days)
        self.lockout_policy = lockout.LockoutPolicy(settings.lockout_max_failures,
                                                    timedelta(minutes=settings.lockout_minutes))
        self.throttle_policy = throttle_policy(settings)
        self.sleep = asyncio.sleep  # the pause before answering a throttled failure (tests replace it)

    # --- audit ------------------------------------------------------------------------------

    async def audit(self, session: AsyncSession, action: str, *, actor_id: str, actor_ip: str = "",
                    target_type: str = "", target_id: str = "", outcome: str = "success", detail: str = "",
                    source: str = "identity", event_id: str | None = None,
                    occurred_at: datetime | None = None) -> str:
        entry = AuditEntry(id=new_id(), occurred_at=occurred_at or self.clock(), actor_id=actor_id,
                           actor_ip=actor_ip, action=action, target_type=target_type, target_id=target_id,
                           outcome=outcome, detail=detail[:4000], source=source, event_id=event_id)
        session.add(entry)
        await session.flush()
        return entry.id

    # --- tokens -----------------------------------------------------------------------------

    async def _principal_for(self, session: AsyncSession, user: User) -> Principal:
        unit = await session.get(OrgUnit, user.unit_id)
        held = (await session.scalars(select(Role).where(Role.code.in_(user.roles)))).all() if user.roles else []
        grants = [roles.validate_permissions(role.permissions) for role in held]
        return Principal(subject_id=user.id, kind="user", unit_id=user.unit_id, org_path=unit.path if unit else "",
                         permissions=roles.effective_permissions(grants), roles=tuple(user.roles),
                         name=user.display_name, ip_allowlist=tuple(await self._unit_allowlist(session, user.unit_id)))

    def _sign(self, principal: Principal, ttl: int) -> str:
        claims = access_claims(principal, issuer=self.settings.jwt_issuer, audience=self.settings.jwt_audience,
                               ttl_seconds=ttl, token_id=new_id(), now=self.clock().timestamp())
        return sign_token(claims, self.keys.private_key, self.keys.key_id)

    async def _issue(self, session: AsyncSession, user: User, family_id: str | None = None) -> Tokens:
        principal = dataclasses.replace(await self._principal_for(session, user),
                                        password_change_required=self._password_change_required(user))
        refresh = secrets.token_urlsafe(32)
        now = self.clock()
        session.add(RefreshToken(id=new_id(), user_id=user.id, token_hash=_hash_refresh(refresh),
                                 family_id=family_id or new_id(),
                                 expires_at=now + timedelta(seconds=self.settings.refresh_token_ttl_seconds),
                                 revoked_at=None, created_at=now))
        return Tokens(self._sign(principal, self.settings.access_token_ttl_seconds), refresh,
                      self.settings.access_token_ttl_seconds, self._password_change_required(user))

    def _password_change_required(self, user: User) -> bool:
        return user.must_change_password or passwords.is_expired(user.password_changed_at, self.password_policy,
                                                                 self.clock())

    async def _unit_allowlist(self, session: AsyncSession, unit_id: str) -> list[str]:
        """The allow-list in force for a unit: its own, else the nearest ancestor's. The unit's
        materialised path names every ancestor, so the whole chain is one query."""
        unit = await session.get(OrgUnit, unit_id)
        if unit is None:
            return []
        chain_ids = [part for part in unit.path.split("/") if part]
        by_id = {u.id: u for u in (await session.scalars(select(OrgUnit).where(OrgUnit.id.in_(chain_ids)))).all()}
        chain = [(by_id[i].has_ip_allowlist, by_id[i].ip_allowlist or []) for i in reversed(chain_ids) if i in by_id]
        return org.effective_allowlist(chain)

    async def check_ip(self, session: AsyncSession, unit_id: str, client_ip: str) -> None:
        _refuse_outside_allowlist(client_ip, await self._unit_allowlist(session, unit_id))

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
            history = await address_history(session, client_ip, login, self.throttle_policy, now)
            if client_ip and throttling.refuse_before_check(history, self.throttle_policy):
                wait = throttling.retry_after(history, self.throttle_policy, now)
                await self.audit(session, "auth.login", actor_id="", actor_ip=client_ip, outcome="denied",
                                 detail=f"throttled: repeated failures of this login from this address (login {login})")
                await session.commit()  # the refusal is audited although the call fails
                raise ResourceExhausted("too many failed logins for this login from this address; try again in "
                                        f"{max(1, round(wait.total_seconds() / 60))} minutes",
                                        info={"retry_after_seconds": str(max(1, int(wait.total_seconds())))})
            user = await session.scalar(select(User).where(User.login == login))
            if user is None or not user.active:
                await _verify_password(passwords.DUMMY_HASH, password)  # same timing as a real check
                await self._record_failure(session, login, client_ip, None, "unknown or inactive login", history)
            if lockout.is_locked(user.locked_until, now):
                await self.audit(session, "auth.login", actor_id=user.id, actor_ip=client_ip, outcome="denied",
                                 target_type="user", target_id=user.id, detail="account locked")
                await session.commit()
                raise FailedPrecondition("account is locked after repeated failures; ask an administrator "
                                         "or try again later")
            if not await _verify_password(user.password_hash, password):
                user.failed_attempts, user.locked_until = lockout.after_failure(
                    user.failed_attempts, self.lockout_policy, now)
                await self._record_failure(session, login, client_ip, user, "wrong password", history)
            try:
                await self.check_ip(session, user.unit_id, client_ip)
            except PermissionDenied:
                await self.audit(session, "auth.login", actor_id=user.id, actor_ip=client_ip, outcome="denied",
                                 target_type="user", target_id=user.id, detail="address not in allow-list")
                await session.commit()
                raise
            user.failed_attempts = 0
            user.locked_until = None
            tokens = await self._issue(session, user)
            await self.audit(session, "auth.login", actor_id=user.id, actor_ip=client_ip, target_type="user",
                             target_id=user.id)
            return tokens

    async def _record_failure(self, session: AsyncSession, login: str, client_ip: str, user: User | None,
                              reason: str, history: throttling.AddressHistory) -> NoReturn:
        """Failures are committed even though the login call fails; raises the failed login with
        the pause its address has earned."""
        session.add(LoginFailure(id=new_id(), client_ip=client_ip, login=login[:100], at=self.clock()))
        await self.audit(session, "auth.login", actor_id=user.id if user else "", actor_ip=client_ip,
                         target_type="user", target_id=user.id if user else "", outcome="failure",
                         detail=f"{reason} (login {login[:100]})")
        await session.commit()
        delay = throttling.failure_delay(history.address_failures + 1, self.throttle_policy) if client_ip else None
        raise FailedLogin(delay or timedelta(0))

    async def refresh(self, refresh_token: str, client_ip: str) -> Tokens:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _hash_refresh(refresh_token)))
            if row is None or row.expires_at <= now:
                raise Unauthenticated("refresh token is invalid or expired")
            if row.revoked_at is not None:
                # A rotated token used again: someone holds a stolen copy. Revoke the whole family.
                await session.execute(update(RefreshToken).where(RefreshToken.family_id == row.family_id,
                                                                 RefreshToken.revoked_at.is_(None))
                                      .values(revoked_at=now))
                await self.audit(session, "auth.refresh", actor_id=row.user_id, actor_ip=client_ip,
                                 outcome="denied", detail="reuse of a rotated refresh token; session revoked")
                await session.commit()
                raise Unauthenticated("refresh token is invalid or expired")
            user = await session.get(User, row.user_id)
            if user is None or not user.active:
                raise Unauthenticated("refresh token is invalid or expired")
            await self.check_ip(session, user.unit_id, client_ip)
            row.revoked_at = now
            return await self._issue(session, user, row.family_id)

    async def logout(self, refresh_token: str) -> None:
        async with self.sessions() as session, session.begin():
            row = await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _hash_refresh(refresh_token)))
            if row is None:
                return
            await session.execute(update(RefreshToken).where(RefreshToken.family_id == row.family_id,
                                                             RefreshToken.revoked_at.is_(None))
                                  .values(revoked_at=self.clock()))
            await self.audit(session, "auth.logout", actor_id=row.user_id, target_type="user", target_id=row.user_id)

    async def authenticate_api_key(self, key: str, client_ip: str) -> Tokens:
        if not api_keys.well_formed(key):
            raise Unauthenticated("API key is malformed")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == api_keys.key_hash(key)))
            if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
                raise Unauthenticated("API key is unknown, revoked or expired")
            await self.check_ip(session, row.unit_id, client_ip)
            unit = await session.get(OrgUnit, row.unit_id)
            if unit is None or not unit.active:
                raise Unauthenticated("API key's unit is inactive")
            row.last_used_at = now
            principal = Principal(subject_id=row.id, kind="api_key", unit_id=row.unit_id, org_path=unit.path,
                                  permissions=roles.validate_permissions(row.permissions), name=row.name,
                                  ip_allowlist=tuple(await self._unit_allowlist(session, row.unit_id)))
            ttl = self.settings.api_key_token_ttl_seconds
            return Tokens(self._sign(principal, ttl), "", ttl, rate_limit_per_minute=row.rate_limit_per_minute or 0)

    async def change_password(self, principal: Principal, current: str, new: str) -> None:
        async with self.sessions() as session, session.begin():
            user = await self._active_user(session, principal)
            if not await _verify_password(user.password_hash, current):
                raise ValidationFailed("is not the current password", "current_password")
            passwords.check_password(new, user.login, self.password_policy, "new_password")
            if await _verify_password(user.password_hash, new):
                raise ValidationFailed("must differ from the current password", "new_password")
            user.password_hash = await _hash_password(new)
            user.password_changed_at = self.clock()
            user.must_change_password = False
            user.version += 1
            await self.audit(session, "users.password_changed", actor_id=user.id, actor_ip=principal.client_ip,
                             target_type="user", target_id=user.id)

    async def _active_user(self, session: AsyncSession, principal: Principal) -> User:
        if principal.kind != "user":
            raise PermissionDenied("only people have a user record")
        user = await session.get(User, principal.subject_id)
        if user is None or not user.active:
            raise Unauthenticated("user is deactivated")
        return user

    async def me(self, principal: Principal) -> tuple[User | None, Principal]:
        async with self.reader() as session:
            if principal.kind == "api_key":
                return None, principal
            user = await self._active_user(session, principal)
            current = await self._principal_for(session, user)  # carries the allow-list in force
            _refuse_outside_allowlist(principal.client_ip, current.ip_allowlist)
            return user, current

    # --- org units --------------------------------------------------------------------------

    async def _unit(self, session: AsyncSession, unit_id: str, field: str = "id") -> OrgUnit:
        unit = await session.get(OrgUnit, unit_id) if unit_id else None
        if unit is None:
            raise NotFound(f"org unit {unit_id!r} does not exist", field)
        return unit

    def _require_on_unit(self, principal: Principal, permission: str, unit: OrgUnit) -> None:
        scope = principal.require(permission)
        if scope is Scope.ALL or (scope >= Scope.SUBTREE and unit.path.startswith(principal.org_path)) or \
                (scope is Scope.TEAM and unit.path == principal.org_path):
            return
        raise PermissionDenied(f"org unit {unit.id} is outside your data scope")

    async def _emit_unit(self, session: AsyncSession, verb: str, unit: OrgUnit, principal: Principal,
                         previous_path: str = "") -> None:
        await self.outbox.record(session, f"salesgrid.identity.org_unit.{verb}", OrgUnitState(
            unit_id=unit.id, parent_id=unit.parent_id or "", name=unit.name, path=unit.path,
            previous_path=previous_path, time_zone=unit.time_zone, currency=unit.currency, active=unit.active,
            kind=unit.kind, code=unit.code,
        ), EventMeta(aggregate_id=unit.id, actor_id=principal.subject_id, org_path=unit.path,
                     actor_ip=principal.client_ip), self.clock())

    async def create_org_unit(self, principal: Principal, *, parent_id: str, name: str, code: str, kind: str,
                              time_zone: str, currency: str, ip_allowlist: Sequence[str]) -> OrgUnit:
        problems = []
        for check in (lambda: org.validate_name(name), lambda: time_zone and org.validate_time_zone(time_zone),
                      lambda: currency and org.validate_currency(currency), lambda: org.validate_cidrs(ip_allowlist)):
            try:
                check()
            except ValidationFailed as exc:
                problems.extend(exc.violations)
        if kind and kind not in org.UNIT_KINDS:
            problems.append(("kind", f"must be one of {', '.join(org.UNIT_KINDS)}"))
        if problems:
            raise ValidationFailed.many(problems)
        async with self.sessions() as session, session.begin():
            if parent_id:
                parent = await self._unit(session, parent_id, "parent_id")
                self._require_on_unit(principal, "org_units:create", parent)
                parent_path = parent.path
                defaults = unit_defaults.inherited(unit_defaults.UnitDefaults(parent.time_zone, parent.currency),
                                                   time_zone=time_zone, currency=currency)
            else:
                if principal.require("org_units:create") is not Scope.ALL:
                    raise PermissionDenied("only a company-wide administrator creates a root unit")
                if await session.scalar(select(func.count()).select_from(OrgUnit).where(OrgUnit.parent_id.is_(None))):
                    raise ValidationFailed("a company root already exists; give a parent", "parent_id")
                parent_path = "/"
                defaults = unit_defaults.inherited(None, time_zone=time_zone, currency=currency)
            unit_id = new_id()
            unit = OrgUnit(id=unit_id, parent_id=parent_id or None, name=org.validate_name(name), code=code[:40],
                           kind=kind or "other", path=org.child_path(parent_path, unit_id),
                           time_zone=defaults.time_zone, currency=defaults.currency,
                           has_ip_allowlist=bool(ip_allowlist), ip_allowlist=org.validate_cidrs(ip_allowlist),
                           active=True, version=1, created_at=self.clock())
            session.add(unit)
            await session.flush()
            await self._emit_unit(session, "created", unit, principal)
            await self.audit(session, "org_units.create", actor_id=principal.subject_id, actor_ip=principal.client_ip,
                             target_type="org_unit", target_id=unit.id)
            return unit

    async def update_org_unit(self, principal: Principal, unit_id: str, expected_version: int, *,
                              name: str | None, time_zone: str | None, currency: str | None,
                              ip_allowlist: Sequence[str] | None) -> OrgUnit:
        async with self.sessions() as session, session.begin():
            unit = await self._unit(session, unit_id)
            self._require_on_unit(principal, "org_units:update", unit)
            if expected_version and expected_version != unit.version:
                raise Conflict(f"org unit changed since version {expected_version} (now {unit.version})")
            if name is not None:
                unit.name = org.validate_name(name)
            if time_zone is not None:
                unit.time_zone = org.validate_time_zone(time_zone)
            if currency is not None:
                unit.currency = org.validate_currency(currency)
            if ip_allowlist is not None:
                unit.ip_allowlist = org.validate_cidrs(ip_allowlist)
                unit.has_ip_allowlist = bool(ip_allowlist)
            unit.version += 1
            await self._emit_unit(session, "updated", unit, principal)
            await self.audit(session, "org_units.update", actor_id=principal.subject_id, actor_ip=principal.client_ip,
                             target_type="org_unit", target_id=unit.id)
            return unit

    async def move_org_unit(self, principal: Principal, unit_id: str, new_parent_id: str) -> OrgUnit:
        async with self.sessions() as session, session.begin():
            unit = await self._unit(session, unit_id)
            parent = await self._unit(session, new_parent_id, "new_parent_id")
            self._require_on_unit(principal, "org_units:update", unit)
            self._require_on_unit(principal, "org_units:update", parent)
            org.check_move(unit.path, parent.path)
            old_path = unit.path
            new_path = org.child_path(parent.path, unit.id)
            for descendant in (await session.scalars(select(OrgUnit).where(OrgUnit.path.startswith(old_path)))).all():
                descendant.path = new_path + descendant.path[len(old_path):]
            unit.parent_id = parent.id
            unit.version += 1
            await self._emit_unit(session, "moved", unit, principal, previous_path=old_path)
            await self.audit(session, "org_units.move", actor_id=principal.subject_id, actor_ip=principal.client_ip,
                             target_type="org_unit", target_id=unit.id, detail=f"{old_path} -> {new_path}")
            return unit

    async def deactivate_org_unit(self, principal: Principal, unit_id: str) -> OrgUnit:
        async with self.sessions() as session, session.begin():
            unit = await self._unit(session, unit_id)
            self._require_on_unit(principal, "org_units:delete", unit)
            active_users = await session.scalar(select(func.count()).select_from(User).join(OrgUnit, User.unit_id == OrgUnit.id)
                                                .where(OrgUnit.path.startswith(unit.path), User.active.is_(True)))
            if active_users:
                raise FailedPrecondition(f"unit still has {active_users} active users; move or deactivate them first")
            unit.active = False
            unit.version += 1
            await self._emit_unit(session, "deactivated", unit, principal)
            await self.audit(session, "org_units.deactivate", actor_id=principal.subject_id,
                             actor_ip=principal.client_ip, target_type="org_unit", target_id=unit.id)
            return unit

    async def get_org_unit(self, principal: Principal, unit_id: str) -> OrgUnit:
        async with self.reader() as session:
            unit = await self._unit(session, unit_id)
            self._require_on_unit(principal, "org_units:read", unit)
            return unit

    async def list_org_units(self, principal: Principal, include_inactive: bool) -> list[OrgUnit]:
        principal.require("org_units:read")
        async with self.reader() as session:
            query = select(OrgUnit).order_by(OrgUnit.path)
            if principal.require("org_units:read") is not Scope.ALL:
                query = query.where(OrgUnit.path.startswith(principal.org_path))
            if not include_inactive:
                query = query.where(OrgUnit.active.is_(True))
            return list((await session.scalars(query)).all())

    # --- users ------------------------------------------------------------------------------

    def _user_state(self, user: User, unit: OrgUnit) -> UserState:
        return UserState(user_id=user.id, login=user.login, display_name=user.display_name, unit_id=user.unit_id,
                         org_path=unit.path, manager_id=user.manager_id or "", roles=list(user.roles),
                         active=user.active, time_zone=unit.time_zone)

    async def _emit_user(self, session: AsyncSession, verb: str, user: User, principal: Principal) -> None:
        unit = await self._unit(session, user.unit_id, "unit_id")
        await self.outbox.record(session, f"salesgrid.identity.user.{verb}", self._user_state(user, unit),
                                 EventMeta(aggregate_id=user.id, actor_id=principal.subject_id, org_path=unit.path,
                                           actor_ip=principal.client_ip), self.clock())

    async def _check_roles(self, session: AsyncSession, principal: Principal, codes: Sequence[str]) -> list[str]:
        requested: list[dict[str, Scope]] = []
        for index, code in enumerate(codes):
            role = await session.get(Role, code)
            if role is None:
                raise ValidationFailed(f"unknown role {code!r}", f"roles[{index}]")
            requested.append(roles.validate_permissions(role.permissions))
        excess = roles.within_grant(roles.effective_permissions(requested), principal.permissions)
        if excess:
            raise PermissionDenied(f"cannot grant roles carrying more than you hold: {', '.join(excess[:5])}")
        return list(dict.fromkeys(codes))

    async def _check_manager(self, session: AsyncSession, manager_id: str | None, user_id: str) -> None:
        if not manager_id:
            return
        if manager_id == user_id:
            raise ValidationFailed("a user cannot be his own manager", "manager_id")
        seen = {user_id}
        current = await session.get(User, manager_id)
        if current is None:
            raise ValidationFailed(f"manager {manager_id!r} does not exist", "manager_id")
        while current is not None:
            if current.id in seen:
                raise ValidationFailed("this manager would create a reporting cycle", "manager_id")
            seen.add(current.id)
            current = await session.get(User, current.manager_id) if current.manager_id else None

    async def _user_in_scope(self, session: AsyncSession, principal: Principal, permission: str, user_id: str) -> User:
        user = await session.get(User, user_id) if user_id else None
        if user is None:
            raise NotFound(f"user {user_id!r} does not exist", "id")
        unit = await self._unit(session, user.unit_id, "unit_id")
        if not principal.can_see(permission, user.id, unit.path):
            raise PermissionDenied(f"user {user_id} is outside your data scope")
        return user

    async def create_user(self, principal: Principal, *, login: str, display_name: str, email: str, unit_id: str,
                          manager_id: str, role_codes: Sequence[str], initial_password: str,
                          temporary_password: bool = True) -> User:
        login = login.strip().lower()
        problems = []
        if not login or len(login) > 100 or any(c.isspace() for c in login):
            problems.append(("login", "must be 1-100 characters without spaces"))
        try:
            org.validate_name(display_name, "display_name")
        except ValidationFailed as exc:
            problems.extend(exc.violations)
        if not role_codes:
            problems.append(("roles", "at least one role is required"))
        try:
            passwords.check_password(initial_password, login, self.password_policy, "initial_password")
        except ValidationFailed as exc:
            problems.extend(exc.violations)
        if problems:
            raise ValidationFailed.many(problems)
        async with self.sessions() as session, session.begin():
            unit = await self._unit(session, unit_id, "unit_id")
            if not unit.active:
                raise ValidationFailed("unit is deactivated", "unit_id")
            self._require_on_unit(principal, "users:create", unit)
            if await session.scalar(select(User.id).where(User.login == login)):
                raise AlreadyExists(f"login {login!r} is taken", "login")
            user_id = new_id()
            await self._check_manager(session, manager_id, user_id)
            codes = await self._check_roles(session, principal, role_codes)
            now = self.clock()
            user = User(id=user_id, login=login, display_name=org.validate_name(display_name, "display_name"),
                        email=email.strip(), unit_id=unit.id, manager_id=manager_id or None, roles=codes,
                        password_hash=await _hash_password(initial_password), password_changed_at=now,
                        must_change_password=temporary_password, failed_attempts=0, locked_until=None, active=True, version=1,
                        created_at=now)
            session.add(user)
            await session.flush()
            await self._emit_user(session, "created", user, principal)
            await self.audit(session, "users.create", actor_id=principal.subject_id, actor_ip=principal.client_ip,
                             target_type="user", target_id=user.id)
            return user

    async def update_user(self, principal: Principal, user_id: str, expected_version: int, *,
                          display_name: str | None, email: str | None, unit_id: str | None,
                          manager_id: str | None, role_codes: Sequence[str] | None) -> User:
        async with self.sessions() as session, session.begin():
            user = await self._user_in_scope(session, principal, "users:update", user_id)
            if expected_version and expected_version != user.version:
                raise Conflict(f"user changed since version {expected_version} (now {user.version})")
            verb = "updated"
            if display_name is not None:
                user.display_name = org.validate_name(display_name, "display_name")
            if email is not None:
                user.email = email.strip()
            if unit_id is not None and unit_id != user.unit_id:
                unit = await self._unit(session, unit_id, "unit_id")
                self._require_on_unit(principal, "users:update", unit)
                user.unit_id = unit.id
                verb = "moved"
            if manager_id is not None:
                await self._check_manager(session, manager_id, user.id)
                user.manager_id = manager_id or None
            if role_codes is not None:
                user.roles = await self._check_roles(session, principal, role_codes)
            user.version += 1
            await self._emit_user(session, verb, user, principal)
            await self.audit(session, f"users.{'move' if verb == 'moved' else 'update'}", actor_id=principal.subject_id,
                             actor_ip=principal.client_ip, target_type="user", target_id=user.id)
            return user

    async def deactivate_user(self, principal: Principal, user_id: str) -> User:
        async with self.sessions() as session, session.begin():
            user = await self._user_in_scope(session, principal, "users:delete", user_id)
            if user.id == principal.subject_id:
                raise FailedPrecondition("you cannot deactivate yourself")
            user.active = False
            user.version += 1
            await session.execute(update(RefreshToken).where(RefreshToken.user_id == user.id,
                                                             RefreshToken.revoked_at.is_(None))
                                  .values(revoked_at=self.clock()))
            await self._emit_user(session, "deactivated", user, principal)
            await self.audit(session, "users.deactivate", actor_id=principal.subject_id, actor_ip=principal.client_ip,
                             target_type="user", target_id=user.id)
            return user

    async def unlock_user(self, principal: Principal, user_id: str) -> User:
        async with self.sessions() as session, session.begin():
            user = await self._user_in_scope(session, principal, "users:update", user_id)
            user.failed_attempts = 0
            user.locked_until = None
            user.version += 1
            await self.audit(session, "users.unlock", actor_id=principal.subject_id, actor_ip=principal.client_ip,
                             target_type="user", target_id=user.id)
            return user

    async def get_user(self, principal: Principal, user_id: str) -> tuple[User, Principal]:
        async with self.reader() as session:
            user = await self._user_in_scope(session, principal, "users:read", user_id)
            return user, await self._principal_for(session, user)

    async def list_users(self, principal: Principal, unit_id: str, query: str, page_size: int,
                         after: str) -> tuple[list[tuple[User, str]], str]:
        principal.require("users:read")
        page_size = max(1, min(page_size or 50, 200))
        async with self.reader() as session:
            stmt = (select(User, OrgUnit.path).join(OrgUnit, User.unit_id == OrgUnit.id)
                    .where(scope_filter(principal, "users:read", User.id, OrgUnit.path))
                    .order_by(User.id).limit(page_size + 1))
            if unit_id:
                unit = await self._unit(session, unit_id, "unit_id")
                stmt = stmt.where(OrgUnit.path.startswith(unit.path))
            if query:
                like = f"%{query.strip().lower()}%"
                stmt = stmt.where(func.lower(User.login).like(like) | func.lower(User.display_name).like(like))
            if after:
                stmt = stmt.where(User.id > after)
            rows = [(row[0], row[1]) for row in (await session.execute(stmt)).all()]
        next_token = rows[page_size - 1][0].id if len(rows) > page_size else ""
        return rows[:page_size], next_token

    # --- roles ------------------------------------------------------------------------------

    async def create_role(self, principal: Principal, code: str, name: str, permissions: dict[str, str]) -> Role:
        if principal.require("roles:create") is not Scope.ALL:
            raise PermissionDenied("custom roles are created by company-wide administrators")
        code = roles.validate_role_code(code)
        grants = roles.validate_permissions(permissions)
        if not grants:
            raise ValidationFailed("a role needs at least one permission", "permissions")
        async with self.sessions() as session, session.begin():
            if await session.get(Role, code):
                raise AlreadyExists(f"role {code!r} exists", "code")
            role = Role(code=code, name=org.validate_name(name), builtin=False,
                        permissions={k: v.name.lower() for k, v in grants.items()})
            session.add(role)
            await self.audit(session, "roles.create", actor_id=principal.subject_id, actor_ip=principal.client_ip,
                             target_type="role", target_id=code)
            return role

    async def list_roles(self, principal: Principal) -> list[Role]:
        principal.require("roles:read")
        async with self.reader() as session:
            return list((await session.scalars(select(Role).order_by(Role.code))).all())

    # --- API keys ---------------------------------------------------------------------------

    async def create_api_key(self, principal: Principal, name: str, unit_id: str, permissions: dict[str, str],
                             ttl_days: int, rate_limit_per_minute: int = 0) -> tuple[ApiKey, str]:
        grants = roles.validate_permissions(permissions)
        if rate_limit_per_minute < 0 or rate_limit_per_minute > 1_000_000:
            raise ValidationFailed("must be between 1 and 1000000 (0 = the default)", "rate_limit_per_minute")
        if not grants:
            raise ValidationFailed("an API key needs at least one permission", "permissions")
        if ttl_days < 0 or ttl_days > 730:
            raise ValidationFailed("must be between 1 and 730 days (0 = 365)", "ttl_days")
        excess = roles.within_grant(grants, principal.permissions)
        if excess:
            raise PermissionDenied(f"cannot grant a key more than you hold: {', '.join(excess[:5])}")
        async with self.sessions() as session, session.begin():
            unit = await self._unit(session, unit_id, "unit_id")
            self._require_on_unit(principal, "api_keys:create", unit)
            secret = api_keys.generate()
            now = self.clock()
            key = ApiKey(id=new_id(), name=org.validate_name(name), prefix=api_keys.display_prefix(secret),
                         key_hash=api_keys.key_hash(secret), unit_id=unit.id,
                         permissions={k: v.name.lower() for k, v in grants.items()},
                         expires_at=now + timedelta(days=ttl_days or 365), revoked_at=None, last_used_at=None,
                         created_by=principal.subject_id, created_at=now,
                         rate_limit_per_minute=rate_limit_per_minute or None)
            session.add(key)
            await self.audit(session, "api_keys.create", actor_id=principal.subject_id, actor_ip=principal.client_ip,
                             target_type="api_key", target_id=key.id)
            return key, secret

    async def list_api_keys(self, principal: Principal) -> list[ApiKey]:
        async with self.reader() as session:
            stmt = (select(ApiKey).join(OrgUnit, ApiKey.unit_id == OrgUnit.id)
                    .where(scope_filter(principal, "api_keys:read", ApiKey.created_by, OrgUnit.path))
                    .order_by(ApiKey.id))
            return list((await session.scalars(stmt)).all())

    async def revoke_api_key(self, principal: Principal, key_id: str) -> ApiKey:
        async with self.sessions() as session, session.begin():
            key = await session.get(ApiKey, key_id)
            if key is None:
                raise NotFound(f"API key {key_id!r} does not exist", "id")
            unit = await self._unit(session, key.unit_id, "unit_id")
            if not principal.can_see("api_keys:delete", key.created_by, unit.path):
                raise PermissionDenied("API key is outside your data scope")
            if key.revoked_at is None:
                key.revoked_at = self.clock()
                await self.outbox.record(session, "salesgrid.identity.api_key.revoked",
                                         ApiKeyRevoked(api_key_id=key.id, unit_id=key.unit_id),
                                         EventMeta(aggregate_id=key.id, actor_id=principal.subject_id,
                                                   org_path=unit.path, actor_ip=principal.client_ip), self.clock())
            await self.audit(session, "api_keys.revoke", actor_id=principal.subject_id, actor_ip=principal.client_ip,
                             target_type="api_key", target_id=key.id)
            return key

    # --- audit queries ----------------------------------------------------------------------

    async def record_audit(self, principal: Principal, action: str, target_type: str, target_id: str,
                           detail: str, client_ip: str) -> str:
        if not action or len(action) > 200:
            raise ValidationFailed("must be 1-200 characters", "action")
        async with self.sessions() as session, session.begin():
            return await self.audit(session, action, actor_id=principal.subject_id,
                                    actor_ip=client_ip or principal.client_ip, target_type=target_type,
                                    target_id=target_id, detail=detail, source="gateway")

    async def list_audit(self, principal: Principal, *, actor_id: str, action: str, target_id: str,
                         since: datetime | None, until: datetime | None, page_size: int,
                         after: str) -> tuple[list[AuditEntry], str]:
        if principal.require("audit:read") is not Scope.ALL:
            raise PermissionDenied("the audit trail is for company-wide administrators and auditors")
        if since and until and until < since:
            raise ValidationFailed("must not be before since", "until")
        page_size = max(1, min(page_size or 50, 500))
        async with self.reader() as session:
            stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(page_size + 1)
            if actor_id:
                stmt = stmt.where(AuditEntry.actor_id == actor_id)
            if action:
                stmt = stmt.where(AuditEntry.action.startswith(action))
            if target_id:
                stmt = stmt.where(AuditEntry.target_id == target_id)
            if since:
                stmt = stmt.where(AuditEntry.occurred_at >= since)
            if until:
                stmt = stmt.where(AuditEntry.occurred_at < until)
            if after:
                stmt = stmt.where(AuditEntry.id < after)
            rows = list((await session.scalars(stmt)).all())
        next_token = rows[page_size - 1].id if len(rows) > page_size else ""
        return rows[:page_size], next_token

    # --- bootstrap --------------------------------------------------------------------------

    async def ensure_builtin_roles(self) -> None:
        """Idempotent; replicas starting together may race, so a lost insert race is retried."""
        for attempt in range(3):
            try:
                await self._upsert_builtin_roles()
                return
            except IntegrityError:
                if attempt == 2:
                    raise

    async def _upsert_builtin_roles(self) -> None:
        async with self.sessions() as session, session.begin():
            for code, (name, grants) in roles.BUILTIN_ROLES.items():
                role = await session.get(Role, code)
                perms = {k: v.name.lower() for k, v in grants.items()}
                if role is None:
                    session.add(Role(code=code, name=name, builtin=True, permissions=perms))
                else:
                    role.name, role.permissions = name, perms

    async def bootstrap_admin(self, login: str, password: str, company: str, time_zone: str, currency: str) -> str:
        """Create the company root unit and the first administrator (once, on an empty database)."""
        await self.ensure_builtin_roles()
        system = Principal(subject_id="system", kind="user", unit_id="", org_path="/",
                           permissions={k: Scope.ALL for k in roles.CATALOGUE})
        async with self.sessions() as session:
            existing = await session.scalar(select(User).where(User.login == login.strip().lower()))
            if existing is not None:
                return existing.id
        root = await self.create_org_unit(system, parent_id="", name=company, code="HQ", kind="company",
                                          time_zone=time_zone, currency=currency, ip_allowlist=[])
        admin = await self.create_user(system, login=login, display_name="Administrator", email="",
                                       unit_id=root.id, manager_id="", role_codes=["admin"], initial_password=password)
        async with self.sessions() as session, session.begin():
            user = await session.get(User, admin.id)
            assert user is not None
            user.must_change_password = False  # the operator chose this password at bootstrap
        return admin.id


async def _hash_password(password: str) -> str:
    # Argon2 is deliberately slow CPU work (tens of ms); in a thread it leaves the loop serving.
    return await asyncio.to_thread(passwords.hash_password, password)


async def _verify_password(password_hash: str, password: str) -> bool:
    return await asyncio.to_thread(passwords.verify_password, password_hash, password)


def _refuse_outside_allowlist(client_ip: str, allowlist: Sequence[str]) -> None:
    if not ip_allowed(client_ip, allowlist):
        raise PermissionDenied(f"access from {client_ip or 'an unknown address'} is not allowed for this unit")
