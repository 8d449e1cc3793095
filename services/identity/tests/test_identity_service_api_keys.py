"""API keys through identity's gRPC API: a key is a scoped principal, revocable, and an
administrator changes a live key's rate limit."""

from __future__ import annotations

import grpc
import jwt
import pytest

from salesgrid.identity.v1 import identity_pb2 as pb
from salesgrid_dev.testing import RunningService, bearer, field_violations

from identity_fixtures import ADMIN_PASSWORD, code_of, login, stubs
from identity_fixtures import identity  # noqa: F401 - fixtures


async def test_api_key_is_a_scoped_principal_and_revocable(identity: RunningService) -> None:
    auth, ident = stubs(identity)
    admin = (await login(identity, "admin", ADMIN_PASSWORD)).access_token
    root = (await ident.ListOrgUnits(pb.ListOrgUnitsRequest(), metadata=bearer(admin))).units[0]
    created = await ident.CreateApiKey(
        pb.CreateApiKeyRequest(
            name="ERP sync", unit_id=root.id, permissions=[pb.Permission(name="customers:read", scope="subtree")]
        ),
        metadata=bearer(admin),
    )
    assert created.secret.startswith("sg_") and created.key.prefix == created.secret[:10]
    pair = await auth.AuthenticateApiKey(pb.AuthenticateApiKeyRequest(api_key=created.secret))
    me = await ident.GetMe(pb.GetMeRequest(), metadata=bearer(pair.access_token))
    assert me.kind == "api_key" and [(p.name, p.scope) for p in me.permissions] == [("customers:read", "subtree")]
    # The key's token names its creator, the person answerable for it (webhooks tell him).
    admin_me = await ident.GetMe(pb.GetMeRequest(), metadata=bearer(admin))
    claims = jwt.decode(pair.access_token, options={"verify_signature": False})
    assert claims["resp"] == admin_me.id
    # ... and the key's own expiry (365 days by default), which outlives the token's.
    assert claims["kexp"] == created.key.expires_at.seconds + created.key.expires_at.nanos / 1e9
    assert claims["kexp"] > claims["exp"]
    # Held to its own permissions: it cannot list users.
    assert (
        await code_of(ident.ListUsers(pb.ListUsersRequest(), metadata=bearer(pair.access_token)))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    tampered = created.secret[:-1] + ("A" if created.secret[-1] != "A" else "B")
    assert (
        await code_of(auth.AuthenticateApiKey(pb.AuthenticateApiKeyRequest(api_key=tampered)))
        == grpc.StatusCode.UNAUTHENTICATED
    )
    await ident.RevokeApiKey(pb.RevokeApiKeyRequest(id=created.key.id), metadata=bearer(admin))
    assert (
        await code_of(auth.AuthenticateApiKey(pb.AuthenticateApiKeyRequest(api_key=created.secret)))
        == grpc.StatusCode.UNAUTHENTICATED
    )
    # Logins, failures and key operations are in the audit trail.
    audit = await ident.ListAuditEvents(pb.ListAuditEventsRequest(), metadata=bearer(admin))
    actions = [e.action for e in audit.events]
    assert "api_keys.create" in actions and "api_keys.revoke" in actions and "auth.login" in actions


async def test_an_admin_changes_a_live_keys_rate_limit(identity: RunningService) -> None:
    """The key's own limit changes without a new key: the next exchange carries it; bad values
    name the field; a revoked key cannot be changed; someone without api_keys:create over the
    unit cannot; the change is audited."""
    auth, ident = stubs(identity)
    admin = (await login(identity, "admin", ADMIN_PASSWORD)).access_token
    root = (await ident.ListOrgUnits(pb.ListOrgUnitsRequest(), metadata=bearer(admin))).units[0]
    created = await ident.CreateApiKey(
        pb.CreateApiKeyRequest(
            name="ERP",
            unit_id=root.id,
            permissions=[pb.Permission(name="customers:read", scope="all")],
            rate_limit_per_minute=100,
        ),
        metadata=bearer(admin),
    )
    key_id = created.key.id
    changed = await ident.SetApiKeyRateLimit(
        pb.SetApiKeyRateLimitRequest(id=key_id, rate_limit_per_minute=2500), metadata=bearer(admin)
    )
    assert changed.rate_limit_per_minute == 2500
    pair = await auth.AuthenticateApiKey(pb.AuthenticateApiKeyRequest(api_key=created.secret))
    assert pair.rate_limit_per_minute == 2500
    back = await ident.SetApiKeyRateLimit(pb.SetApiKeyRateLimitRequest(id=key_id), metadata=bearer(admin))
    assert back.rate_limit_per_minute == 0  # the gateway's default for keys again
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await ident.SetApiKeyRateLimit(
            pb.SetApiKeyRateLimitRequest(id=key_id, rate_limit_per_minute=-5), metadata=bearer(admin)
        )
    assert field_violations(bad.value) == ["rate_limit_per_minute"]
    # The key itself (customers:read only) cannot raise its own limit.
    assert await code_of(
        ident.SetApiKeyRateLimit(
            pb.SetApiKeyRateLimitRequest(id=key_id, rate_limit_per_minute=9999), metadata=bearer(pair.access_token)
        )
    ) in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND)
    await ident.RevokeApiKey(pb.RevokeApiKeyRequest(id=key_id), metadata=bearer(admin))
    assert (
        await code_of(
            ident.SetApiKeyRateLimit(
                pb.SetApiKeyRateLimitRequest(id=key_id, rate_limit_per_minute=10), metadata=bearer(admin)
            )
        )
        == grpc.StatusCode.FAILED_PRECONDITION
    )
    audit = await ident.ListAuditEvents(pb.ListAuditEventsRequest(action="api_keys.rate_limit"), metadata=bearer(admin))
    assert sorted((e.target_id, e.detail) for e in audit.events) == [
        (key_id, "100 -> 2500 per minute (0: the default)"),
        (key_id, "2500 -> 0 per minute (0: the default)"),
    ]
