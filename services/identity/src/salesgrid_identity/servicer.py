"""Thin gRPC servicers: proto ↔ use case translation, nothing else."""

from __future__ import annotations

import grpc

from salesgrid.identity.v1 import identity_pb2 as pb
from salesgrid.identity.v1 import identity_pb2_grpc as pb_grpc
from salesgrid_common.auth.principal import caller
from salesgrid_common.protos import from_timestamp, to_timestamp
from salesgrid_identity.keys import SigningKeys
from salesgrid_identity.translate.records import (
    api_key_pb,
    login_protection_pb,
    partner_pb,
    perm_map,
    tokens_pb,
    unit_pb,
    user_pb,
)
from salesgrid_identity.usecases import IdentityUseCases
from salesgrid_identity.usecases.login_protection import LoginProtectionUseCases


class AuthServicer(pb_grpc.AuthServicer):
    def __init__(self, usecases: IdentityUseCases, keys: SigningKeys) -> None:
        self.uc = usecases
        self.keys = keys

    async def Login(self, request: pb.LoginRequest, context: grpc.aio.ServicerContext) -> pb.TokenPair:
        return tokens_pb(await self.uc.login(request.login.strip().lower(), request.password, request.client_ip))

    async def Refresh(self, request: pb.RefreshRequest, context: grpc.aio.ServicerContext) -> pb.TokenPair:
        return tokens_pb(await self.uc.refresh(request.refresh_token, request.client_ip))

    async def Logout(self, request: pb.LogoutRequest, context: grpc.aio.ServicerContext) -> pb.LogoutResponse:
        await self.uc.logout(request.refresh_token)
        return pb.LogoutResponse()

    async def GetJwks(self, request: pb.GetJwksRequest, context: grpc.aio.ServicerContext) -> pb.Jwks:
        return pb.Jwks(json=self.keys.jwks())

    async def AuthenticateApiKey(
        self, request: pb.AuthenticateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.TokenPair:
        return tokens_pb(await self.uc.authenticate_api_key(request.api_key, request.client_ip))


class IdentityServicer(pb_grpc.IdentityServicer):
    def __init__(self, usecases: IdentityUseCases) -> None:
        self.uc = usecases

    async def GetMe(self, request: pb.GetMeRequest, context: grpc.aio.ServicerContext) -> pb.User:
        user, principal = await self.uc.me(caller())
        return partner_pb(principal) if user is None else user_pb(user, principal)  # None: a partner key

    async def ChangePassword(
        self, request: pb.ChangePasswordRequest, context: grpc.aio.ServicerContext
    ) -> pb.ChangePasswordResponse:
        await self.uc.change_password(caller(), request.current_password, request.new_password)
        return pb.ChangePasswordResponse()

    async def CreateOrgUnit(self, request: pb.CreateOrgUnitRequest, context: grpc.aio.ServicerContext) -> pb.OrgUnit:
        return unit_pb(
            await self.uc.create_org_unit(
                caller(),
                parent_id=request.parent_id,
                name=request.name,
                code=request.code,
                kind=request.kind,
                time_zone=request.time_zone,
                currency=request.currency,
                ip_allowlist=list(request.ip_allowlist),
            )
        )

    async def UpdateOrgUnit(self, request: pb.UpdateOrgUnitRequest, context: grpc.aio.ServicerContext) -> pb.OrgUnit:
        return unit_pb(
            await self.uc.update_org_unit(
                caller(),
                request.id,
                request.expected_version,
                name=request.name if request.HasField("name") else None,
                time_zone=request.time_zone if request.HasField("time_zone") else None,
                currency=request.currency if request.HasField("currency") else None,
                ip_allowlist=list(request.ip_allowlist) if request.set_ip_allowlist else None,
            )
        )

    async def MoveOrgUnit(self, request: pb.MoveOrgUnitRequest, context: grpc.aio.ServicerContext) -> pb.OrgUnit:
        return unit_pb(await self.uc.move_org_unit(caller(), request.id, request.new_parent_id))

    async def DeactivateOrgUnit(
        self, request: pb.DeactivateOrgUnitRequest, context: grpc.aio.ServicerContext
    ) -> pb.OrgUnit:
        return unit_pb(await self.uc.deactivate_org_unit(caller(), request.id))

    async def GetOrgUnit(self, request: pb.GetOrgUnitRequest, context: grpc.aio.ServicerContext) -> pb.OrgUnit:
        return unit_pb(await self.uc.get_org_unit(caller(), request.id))

    async def ListOrgUnits(
        self, request: pb.ListOrgUnitsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListOrgUnitsResponse:
        units = await self.uc.list_org_units(caller(), request.include_inactive)
        return pb.ListOrgUnitsResponse(units=[unit_pb(u) for u in units])

    async def CreateUser(self, request: pb.CreateUserRequest, context: grpc.aio.ServicerContext) -> pb.User:
        user = await self.uc.create_user(
            caller(),
            login=request.login,
            display_name=request.display_name,
            email=request.email,
            unit_id=request.unit_id,
            manager_id=request.manager_id,
            role_codes=list(request.roles),
            initial_password=request.initial_password,
            temporary_password=request.password_change_required
            if request.HasField("password_change_required")
            else True,
        )
        _, principal = await self.uc.get_user(caller(), user.id)
        return user_pb(user, principal)

    async def UpdateUser(self, request: pb.UpdateUserRequest, context: grpc.aio.ServicerContext) -> pb.User:
        user = await self.uc.update_user(
            caller(),
            request.id,
            request.expected_version,
            display_name=request.display_name if request.HasField("display_name") else None,
            email=request.email if request.HasField("email") else None,
            unit_id=request.unit_id if request.HasField("unit_id") else None,
            manager_id=request.manager_id if request.HasField("manager_id") else None,
            role_codes=list(request.roles) if request.set_roles else None,
        )
        _, principal = await self.uc.get_user(caller(), user.id)
        return user_pb(user, principal)

    async def DeactivateUser(self, request: pb.DeactivateUserRequest, context: grpc.aio.ServicerContext) -> pb.User:
        return user_pb(await self.uc.deactivate_user(caller(), request.id), None)

    async def UnlockUser(self, request: pb.UnlockUserRequest, context: grpc.aio.ServicerContext) -> pb.User:
        return user_pb(await self.uc.unlock_user(caller(), request.id), None)

    async def GetLoginProtection(
        self, request: pb.GetLoginProtectionRequest, context: grpc.aio.ServicerContext
    ) -> pb.LoginProtection:
        return login_protection_pb(await LoginProtectionUseCases(self.uc).view(caller()))

    async def ClearAddressThrottle(
        self, request: pb.ClearAddressThrottleRequest, context: grpc.aio.ServicerContext
    ) -> pb.ClearAddressThrottleResponse:
        cleared = await LoginProtectionUseCases(self.uc).clear_address(caller(), request.address)
        return pb.ClearAddressThrottleResponse(cleared_failures=cleared)

    async def GetUser(self, request: pb.GetUserRequest, context: grpc.aio.ServicerContext) -> pb.User:
        user, principal = await self.uc.get_user(caller(), request.id)
        return user_pb(user, principal)

    async def ListUsers(self, request: pb.ListUsersRequest, context: grpc.aio.ServicerContext) -> pb.ListUsersResponse:
        rows, next_token = await self.uc.list_users(
            caller(), request.unit_id, request.query, request.page_size, request.page_token
        )
        return pb.ListUsersResponse(users=[user_pb(u, None, path) for u, path in rows], next_page_token=next_token)

    async def CreateRole(self, request: pb.CreateRoleRequest, context: grpc.aio.ServicerContext) -> pb.Role:
        role = await self.uc.create_role(caller(), request.code, request.name, perm_map(request.permissions))
        return pb.Role(
            code=role.code,
            name=role.name,
            builtin=role.builtin,
            permissions=[pb.Permission(name=k, scope=v) for k, v in sorted(role.permissions.items())],
        )

    async def ListRoles(self, request: pb.ListRolesRequest, context: grpc.aio.ServicerContext) -> pb.ListRolesResponse:
        return pb.ListRolesResponse(
            roles=[
                pb.Role(
                    code=r.code,
                    name=r.name,
                    builtin=r.builtin,
                    permissions=[pb.Permission(name=k, scope=v) for k, v in sorted(r.permissions.items())],
                )
                for r in await self.uc.list_roles(caller())
            ]
        )

    async def CreateApiKey(
        self, request: pb.CreateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreatedApiKey:
        key, secret = await self.uc.create_api_key(
            caller(),
            request.name,
            request.unit_id,
            perm_map(request.permissions),
            request.ttl_days,
            request.rate_limit_per_minute,
        )
        return pb.CreatedApiKey(key=api_key_pb(key), secret=secret)

    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListApiKeysResponse:
        return pb.ListApiKeysResponse(keys=[api_key_pb(k) for k in await self.uc.list_api_keys(caller())])

    async def RevokeApiKey(self, request: pb.RevokeApiKeyRequest, context: grpc.aio.ServicerContext) -> pb.ApiKey:
        return api_key_pb(await self.uc.revoke_api_key(caller(), request.id))

    async def SetApiKeyRateLimit(
        self, request: pb.SetApiKeyRateLimitRequest, context: grpc.aio.ServicerContext
    ) -> pb.ApiKey:
        return api_key_pb(await self.uc.set_api_key_rate_limit(caller(), request.id, request.rate_limit_per_minute))

    async def RecordAudit(
        self, request: pb.RecordAuditRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordAuditResponse:
        entry_id = await self.uc.record_audit(
            caller(), request.action, request.target_type, request.target_id, request.detail, request.client_ip
        )
        return pb.RecordAuditResponse(id=entry_id)

    async def ListAuditEvents(
        self, request: pb.ListAuditEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAuditEventsResponse:
        rows, next_token = await self.uc.list_audit(
            caller(),
            actor_id=request.actor_id,
            action=request.action,
            target_id=request.target_id,
            since=from_timestamp(request.since) if request.HasField("since") else None,
            until=from_timestamp(request.until) if request.HasField("until") else None,
            page_size=request.page_size,
            after=request.page_token,
        )
        return pb.ListAuditEventsResponse(
            events=[
                pb.AuditEvent(
                    id=e.id,
                    occurred_at=to_timestamp(e.occurred_at),
                    actor_id=e.actor_id,
                    actor_ip=e.actor_ip,
                    action=e.action,
                    target_type=e.target_type,
                    target_id=e.target_id,
                    outcome=e.outcome,
                    detail=e.detail,
                    source=e.source,
                )
                for e in rows
            ],
            next_page_token=next_token,
        )
