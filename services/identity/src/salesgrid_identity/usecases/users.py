"""Users use cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.scopes import Scope
from salesgrid_common.errors import (
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from salesgrid_common.ids import new_id
from salesgrid_identity.domain import org, passwords, roles
from salesgrid_identity.domain.users import User, login_violations, normalise_login
from salesgrid_identity.stores.refresh_tokens import revoke_users_tokens
from salesgrid_identity.stores.roles import get_role
from salesgrid_identity.stores.users import get_user, insert_user, login_taken, save_user, users_page
from salesgrid_identity.user_events import user_state

from salesgrid_identity.usecases._support import IdentityUseCasesBase, _hash_password


class UsersMixin(IdentityUseCasesBase):
    """IdentityUseCases: users."""

    async def _emit_user(self, session: AsyncSession, verb: str, user: User, principal: Principal) -> None:
        unit = await self._unit(session, user.unit_id, "unit_id")
        await self.outbox.record_by(
            session,
            f"user.{verb}",
            user_state(user, unit.path, unit.time_zone),
            principal,
            aggregate_id=user.id,
            org_path=unit.path,
            occurred_at=self.clock(),
        )

    async def _check_roles(self, session: AsyncSession, principal: Principal, codes: Sequence[str]) -> list[str]:
        requested: list[dict[str, Scope]] = []
        for index, code in enumerate(codes):
            role = await get_role(session, code)
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
        current = await get_user(session, manager_id)
        if current is None:
            raise ValidationFailed(f"manager {manager_id!r} does not exist", "manager_id")
        while current is not None:
            if current.id in seen:
                raise ValidationFailed("this manager would create a reporting cycle", "manager_id")
            seen.add(current.id)
            current = await get_user(session, current.manager_id) if current.manager_id else None

    async def _user_in_scope(self, session: AsyncSession, principal: Principal, permission: str, user_id: str) -> User:
        user = await get_user(session, user_id)
        if user is None:
            raise NotFound(f"user {user_id!r} does not exist", "id")
        unit = await self._unit(session, user.unit_id, "unit_id")
        if not principal.can_see(permission, user.id, unit.path):
            raise PermissionDenied(f"user {user_id} is outside your data scope")
        return user

    async def create_user(
        self,
        principal: Principal,
        *,
        login: str,
        display_name: str,
        email: str,
        unit_id: str,
        manager_id: str,
        role_codes: Sequence[str],
        initial_password: str,
        temporary_password: bool = True,
    ) -> User:
        login = normalise_login(login)
        problems = login_violations(login)
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
            if await login_taken(session, login):
                raise AlreadyExists(f"login {login!r} is taken", "login")
            user_id = new_id()
            await self._check_manager(session, manager_id, user_id)
            codes = await self._check_roles(session, principal, role_codes)
            now = self.clock()
            user = User(
                id=user_id,
                login=login,
                display_name=org.validate_name(display_name, "display_name"),
                email=email.strip(),
                unit_id=unit.id,
                manager_id=manager_id or None,
                roles=tuple(codes),
                password_hash=await _hash_password(initial_password),
                password_changed_at=now,
                must_change_password=temporary_password,
                created_at=now,
            )
            await insert_user(session, user)
            await self._emit_user(session, "created", user, principal)
            await self.audit_by(session, principal, "users.create", "user", user.id)
            return user

    async def update_user(
        self,
        principal: Principal,
        user_id: str,
        expected_version: int,
        *,
        display_name: str | None,
        email: str | None,
        unit_id: str | None,
        manager_id: str | None,
        role_codes: Sequence[str] | None,
    ) -> User:
        async with self.sessions() as session, session.begin():
            current = await self._user_in_scope(session, principal, "users:update", user_id)
            if expected_version and expected_version != current.version:
                raise Conflict.stale_version(
                    f"user changed since version {expected_version} (now {current.version})",
                    current=current.version,
                    sent=expected_version,
                )
            verb = "updated"
            changes: dict[str, Any] = {}
            if display_name is not None:
                changes["display_name"] = org.validate_name(display_name, "display_name")
            if email is not None:
                changes["email"] = email.strip()
            if unit_id is not None and unit_id != current.unit_id:
                unit = await self._unit(session, unit_id, "unit_id")
                self._require_on_unit(principal, "users:update", unit)
                changes["unit_id"] = unit.id
                verb = "moved"
            if manager_id is not None:
                await self._check_manager(session, manager_id, current.id)
                changes["manager_id"] = manager_id or None
            if role_codes is not None:
                changes["roles"] = tuple(await self._check_roles(session, principal, role_codes))
            user = await save_user(session, current, replace(current, **changes))
            await self._emit_user(session, verb, user, principal)
            await self.audit_by(session, principal, f"users.{'move' if verb == 'moved' else 'update'}", "user", user.id)
            return user

    async def deactivate_user(self, principal: Principal, user_id: str) -> User:
        async with self.sessions() as session, session.begin():
            current = await self._user_in_scope(session, principal, "users:delete", user_id)
            if current.id == principal.subject_id:
                raise FailedPrecondition("you cannot deactivate yourself")
            user = await save_user(session, current, replace(current, active=False))
            await revoke_users_tokens(session, user.id, self.clock())
            await self._emit_user(session, "deactivated", user, principal)
            await self.audit_by(session, principal, "users.deactivate", "user", user.id)
            return user

    async def unlock_user(self, principal: Principal, user_id: str) -> User:
        async with self.sessions() as session, session.begin():
            current = await self._user_in_scope(session, principal, "users:update", user_id)
            user = await save_user(session, current, current.unlocked())
            await self.audit_by(session, principal, "users.unlock", "user", user.id)
            return user

    async def get_user(self, principal: Principal, user_id: str) -> tuple[User, Principal]:
        async with self.reader() as session:
            user = await self._user_in_scope(session, principal, "users:read", user_id)
            return user, await self._principal_for(session, user)

    async def list_users(
        self, principal: Principal, unit_id: str, query: str, page_size: int, after: str
    ) -> tuple[list[tuple[User, str]], str]:
        principal.require("users:read")
        page_size = max(1, min(page_size or 50, 200))
        async with self.reader() as session:
            under = (await self._unit(session, unit_id, "unit_id")).path if unit_id else ""
            rows = await users_page(session, principal, under=under, query=query, limit=page_size + 1, after_id=after)
        next_token = rows[page_size - 1][0].id if len(rows) > page_size else ""
        return rows[:page_size], next_token
