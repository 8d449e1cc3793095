"""Roles use cases."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from salesgrid_common.auth.principal import Principal
from salesgrid_common.scopes import Scope
from salesgrid_common.errors import AlreadyExists, PermissionDenied, ValidationFailed
from salesgrid_identity.domain import org, roles
from salesgrid_identity.stores.roles import all_roles, insert_role, put_builtin_role, role_exists

from salesgrid_identity.usecases._support import IdentityUseCasesBase


class RolesMixin(IdentityUseCasesBase):
    """IdentityUseCases: roles."""

    async def create_role(self, principal: Principal, code: str, name: str, permissions: dict[str, str]) -> roles.Role:
        if principal.require("roles:create") is not Scope.ALL:
            raise PermissionDenied("custom roles are created by company-wide administrators")
        code = roles.validate_role_code(code)
        grants = roles.validate_permissions(permissions)
        if not grants:
            raise ValidationFailed("a role needs at least one permission", "permissions")
        async with self.sessions() as session, session.begin():
            if await role_exists(session, code):
                raise AlreadyExists(f"role {code!r} exists", "code")
            role = roles.Role(code, org.validate_name(name), {k: v.name.lower() for k, v in grants.items()})
            insert_role(session, role)
            await self.audit_by(session, principal, "roles.create", "role", code)
            return role

    async def list_roles(self, principal: Principal) -> list[roles.Role]:
        principal.require("roles:read")
        async with self.reader() as session:
            return await all_roles(session)

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
                await put_builtin_role(
                    session, roles.Role(code, name, {k: v.name.lower() for k, v in grants.items()}, True)
                )
