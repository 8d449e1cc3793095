"""Org use cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.scopes import Scope
from salesgrid_common.errors import Conflict, FailedPrecondition, PermissionDenied, ValidationFailed
from salesgrid_common.ids import new_id
from salesgrid_identity.domain import org, unit_defaults
from salesgrid_identity.domain.org import OrgUnit
from salesgrid_identity.org_unit_events import org_unit_state
from salesgrid_identity.stores.org_units import insert_unit, repath_subtree, root_exists, save_unit, units_under
from salesgrid_identity.stores.users import active_users_under

from salesgrid_identity.usecases._support import IdentityUseCasesBase


class OrgMixin(IdentityUseCasesBase):
    """IdentityUseCases: org."""

    async def _emit_unit(
        self, session: AsyncSession, verb: str, unit: OrgUnit, principal: Principal, previous_path: str = ""
    ) -> None:
        await self.outbox.record_by(
            session,
            f"org_unit.{verb}",
            org_unit_state(unit, previous_path),
            principal,
            aggregate_id=unit.id,
            org_path=unit.path,
            occurred_at=self.clock(),
        )

    async def create_org_unit(
        self,
        principal: Principal,
        *,
        parent_id: str,
        name: str,
        code: str,
        kind: str,
        time_zone: str,
        currency: str,
        ip_allowlist: Sequence[str],
    ) -> OrgUnit:
        problems = []
        for check in (
            lambda: org.validate_name(name),
            lambda: time_zone and org.validate_time_zone(time_zone),
            lambda: currency and org.validate_currency(currency),
            lambda: org.validate_cidrs(ip_allowlist),
        ):
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
                defaults = unit_defaults.inherited(
                    unit_defaults.UnitDefaults(parent.time_zone, parent.currency),
                    time_zone=time_zone,
                    currency=currency,
                )
            else:
                if principal.require("org_units:create") is not Scope.ALL:
                    raise PermissionDenied("only a company-wide administrator creates a root unit")
                if await root_exists(session):
                    raise ValidationFailed("a company root already exists; give a parent", "parent_id")
                parent_path = "/"
                defaults = unit_defaults.inherited(None, time_zone=time_zone, currency=currency)
            unit_id = new_id()
            unit = OrgUnit(
                id=unit_id,
                parent_id=parent_id or None,
                name=org.validate_name(name),
                code=code[:40],
                kind=kind or "other",
                path=org.child_path(parent_path, unit_id),
                time_zone=defaults.time_zone,
                currency=defaults.currency,
                has_ip_allowlist=bool(ip_allowlist),
                ip_allowlist=tuple(org.validate_cidrs(ip_allowlist)),
                created_at=self.clock(),
            )
            await insert_unit(session, unit)
            await self._emit_unit(session, "created", unit, principal)
            await self.audit_by(session, principal, "org_units.create", "org_unit", unit.id)
            return unit

    async def update_org_unit(
        self,
        principal: Principal,
        unit_id: str,
        expected_version: int,
        *,
        name: str | None,
        time_zone: str | None,
        currency: str | None,
        ip_allowlist: Sequence[str] | None,
    ) -> OrgUnit:
        async with self.sessions() as session, session.begin():
            current = await self._unit(session, unit_id)
            self._require_on_unit(principal, "org_units:update", current)
            if expected_version and expected_version != current.version:
                raise Conflict.stale_version(
                    f"org unit changed since version {expected_version} (now {current.version})",
                    current=current.version,
                    sent=expected_version,
                )
            changes: dict[str, Any] = {}
            if name is not None:
                changes["name"] = org.validate_name(name)
            if time_zone is not None:
                changes["time_zone"] = org.validate_time_zone(time_zone)
            if currency is not None:
                changes["currency"] = org.validate_currency(currency)
            if ip_allowlist is not None:
                changes["ip_allowlist"] = tuple(org.validate_cidrs(ip_allowlist))
                changes["has_ip_allowlist"] = bool(ip_allowlist)
            unit = await save_unit(session, current, replace(current, **changes))
            await self._emit_unit(session, "updated", unit, principal)
            await self.audit_by(session, principal, "org_units.update", "org_unit", unit.id)
            return unit

    async def move_org_unit(self, principal: Principal, unit_id: str, new_parent_id: str) -> OrgUnit:
        async with self.sessions() as session, session.begin():
            current = await self._unit(session, unit_id)
            parent = await self._unit(session, new_parent_id, "new_parent_id")
            self._require_on_unit(principal, "org_units:update", current)
            self._require_on_unit(principal, "org_units:update", parent)
            org.check_move(current.path, parent.path)
            old_path = current.path
            new_path = org.child_path(parent.path, current.id)
            await repath_subtree(session, old_path, new_path)
            unit = await save_unit(session, current, replace(current, parent_id=parent.id, path=new_path))
            await self._emit_unit(session, "moved", unit, principal, previous_path=old_path)
            await self.audit_by(
                session, principal, "org_units.move", "org_unit", unit.id, detail=f"{old_path} -> {new_path}"
            )
            return unit

    async def deactivate_org_unit(self, principal: Principal, unit_id: str) -> OrgUnit:
        async with self.sessions() as session, session.begin():
            current = await self._unit(session, unit_id)
            self._require_on_unit(principal, "org_units:delete", current)
            active_users = await active_users_under(session, current.path)
            if active_users:
                raise FailedPrecondition(f"unit still has {active_users} active users; move or deactivate them first")
            unit = await save_unit(session, current, replace(current, active=False))
            await self._emit_unit(session, "deactivated", unit, principal)
            await self.audit_by(session, principal, "org_units.deactivate", "org_unit", unit.id)
            return unit

    async def get_org_unit(self, principal: Principal, unit_id: str) -> OrgUnit:
        async with self.reader() as session:
            unit = await self._unit(session, unit_id)
            self._require_on_unit(principal, "org_units:read", unit)
            return unit

    async def list_org_units(self, principal: Principal, include_inactive: bool) -> list[OrgUnit]:
        principal.require("org_units:read")
        async with self.reader() as session:
            under = "" if principal.require("org_units:read") is Scope.ALL else principal.org_path
            return await units_under(session, under, include_inactive=include_inactive)
