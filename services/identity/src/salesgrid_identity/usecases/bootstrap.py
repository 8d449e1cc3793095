"""First run: the company's root unit and its first administrator, made by the system itself."""

from __future__ import annotations

from dataclasses import replace

from salesgrid_common.auth.principal import Principal
from salesgrid_common.scopes import Scope
from salesgrid_identity.domain import roles
from salesgrid_identity.domain.users import normalise_login
from salesgrid_identity.stores.users import save_sign_in_state, user_by_login
from salesgrid_identity.usecases.org import OrgMixin
from salesgrid_identity.usecases.roles import RolesMixin
from salesgrid_identity.usecases.users import UsersMixin


class BootstrapMixin(OrgMixin, UsersMixin, RolesMixin):
    """IdentityUseCases: the first administrator."""

    async def bootstrap_admin(self, login: str, password: str, company: str, time_zone: str, currency: str) -> str:
        """Create the company root unit and the first administrator (once, on an empty database)."""
        await self.ensure_builtin_roles()
        system = Principal(
            subject_id="system",
            kind="user",
            unit_id="",
            org_path="/",
            permissions={k: Scope.ALL for k in roles.CATALOGUE},
        )
        async with self.sessions() as session:
            existing = await user_by_login(session, normalise_login(login))
            if existing is not None:
                return existing.id
        root = await self.create_org_unit(
            system,
            parent_id="",
            name=company,
            code="HQ",
            kind="company",
            time_zone=time_zone,
            currency=currency,
            ip_allowlist=[],
        )
        admin = await self.create_user(
            system,
            login=login,
            display_name="Administrator",
            email="",
            unit_id=root.id,
            manager_id="",
            role_codes=["admin"],
            initial_password=password,
        )
        async with self.sessions() as session, session.begin():
            # The operator chose this password at bootstrap.
            await save_sign_in_state(session, admin, replace(admin, must_change_password=False))
        return admin.id
