"""Api keys use cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import FailedPrecondition, NotFound, PermissionDenied, Unauthenticated, ValidationFailed
from salesgrid_common.ids import new_id
from salesgrid_identity.api_key_events import api_key_revoked
from salesgrid_identity.domain import api_keys, org, roles
from salesgrid_identity.stores.api_keys import (
    api_key_by_hash,
    api_keys_in_scope,
    get_api_key,
    insert_api_key,
    save_api_key,
)
from salesgrid_identity.stores.org_units import unit_chain

from salesgrid_identity.usecases._support import (
    IdentityUseCasesBase,
    Tokens,
    allowlist_in_force,
    refuse_outside_allowlist,
)


class ApiKeysMixin(IdentityUseCasesBase):
    """IdentityUseCases: api keys."""

    async def authenticate_api_key(self, key: str, client_ip: str) -> Tokens:
        if not api_keys.well_formed(key):
            raise Unauthenticated("API key is malformed")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await api_key_by_hash(session, api_keys.key_hash(key))
            if row is None or not row.usable(now):
                raise Unauthenticated("API key is unknown, revoked or expired")
            chain = await unit_chain(session, row.unit_id)  # the unit last
            allowlist = allowlist_in_force(chain)
            refuse_outside_allowlist(client_ip, allowlist)
            unit = chain[-1] if chain else None
            if unit is None or not unit.active:
                raise Unauthenticated("API key's unit is inactive")
            row = await save_api_key(session, row, replace(row, last_used_at=now))
            principal = Principal(
                subject_id=row.id,
                kind="api_key",
                unit_id=row.unit_id,
                org_path=unit.path,
                permissions=roles.validate_permissions(row.permissions),
                name=row.name,
                ip_allowlist=tuple(allowlist),
                responsible_id=row.created_by,
                key_expires_at=row.expires_at.timestamp() if row.expires_at else 0.0,
            )
            ttl = self.settings.api_key_token_ttl_seconds
            return Tokens(self._sign(principal, ttl), "", ttl, rate_limit_per_minute=row.rate_limit_per_minute or 0)

    async def create_api_key(
        self,
        principal: Principal,
        name: str,
        unit_id: str,
        permissions: dict[str, str],
        ttl_days: int,
        rate_limit_per_minute: int = 0,
    ) -> tuple[api_keys.ApiKey, str]:
        grants = roles.validate_permissions(permissions)
        api_keys.check_rate_limit(rate_limit_per_minute)
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
            key = api_keys.ApiKey(
                id=new_id(),
                name=org.validate_name(name),
                prefix=api_keys.display_prefix(secret),
                key_hash=api_keys.key_hash(secret),
                unit_id=unit.id,
                permissions={k: v.name.lower() for k, v in grants.items()},
                expires_at=now + timedelta(days=ttl_days or 365),
                created_by=principal.subject_id,
                created_at=now,
                rate_limit_per_minute=rate_limit_per_minute or None,
            )
            await insert_api_key(session, key)
            await self.audit_by(session, principal, "api_keys.create", "api_key", key.id)
            return key, secret

    async def set_api_key_rate_limit(
        self, principal: Principal, key_id: str, rate_limit_per_minute: int
    ) -> api_keys.ApiKey:
        """An administrator over the key's unit changes its own limit (0: the gateway's default);
        gateways apply it from the key's next token exchange."""
        api_keys.check_rate_limit(rate_limit_per_minute)
        async with self.sessions() as session, session.begin():
            key = await get_api_key(session, key_id)
            if key is None:
                raise NotFound(f"API key {key_id!r} does not exist", "id")
            unit = await self._unit(session, key.unit_id, "unit_id")
            if not principal.can_see("api_keys:read", key.created_by, unit.path):
                raise NotFound(f"API key {key_id!r} does not exist", "id")
            self._require_on_unit(principal, "api_keys:create", unit)
            if key.revoked_at is not None:
                raise FailedPrecondition("the API key is revoked")
            previous = key.rate_limit_per_minute or 0
            key = await save_api_key(session, key, replace(key, rate_limit_per_minute=rate_limit_per_minute or None))
            await self.audit_by(
                session,
                principal,
                "api_keys.rate_limit",
                "api_key",
                key.id,
                detail=f"{previous} -> {rate_limit_per_minute} per minute (0: the default)",
            )
            return key

    async def list_api_keys(self, principal: Principal) -> list[api_keys.ApiKey]:
        async with self.reader() as session:
            return await api_keys_in_scope(session, principal, "api_keys:read")

    async def revoke_api_key(self, principal: Principal, key_id: str) -> api_keys.ApiKey:
        async with self.sessions() as session, session.begin():
            key = await get_api_key(session, key_id)
            if key is None:
                raise NotFound(f"API key {key_id!r} does not exist", "id")
            unit = await self._unit(session, key.unit_id, "unit_id")
            if not principal.can_see("api_keys:delete", key.created_by, unit.path):
                raise PermissionDenied("API key is outside your data scope")
            if key.revoked_at is None:
                key = await save_api_key(session, key, replace(key, revoked_at=self.clock()))
                await self.outbox.record_by(
                    session,
                    "api_key.revoked",
                    api_key_revoked(key),
                    principal,
                    aggregate_id=key.id,
                    org_path=unit.path,
                    occurred_at=self.clock(),
                )
            await self.audit_by(session, principal, "api_keys.revoke", "api_key", key.id)
            return key
