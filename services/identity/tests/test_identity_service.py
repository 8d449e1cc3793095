"""Identity through its gRPC API on SQLite and PostgreSQL: login, lockout, password policy,
users and scope, refresh rotation and revocation, API keys, audit, events in the outbox."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator

import grpc
import jwt
import pytest
from sqlalchemy import select

from salesgrid.identity.v1 import identity_pb2 as pb
from salesgrid.identity.v1 import identity_pb2_grpc as pb_grpc
from salesgrid_common.events.tables import outbox
from salesgrid_dev.testing import RunningService, bearer, field_violations, run_service
from salesgrid_identity.app import DEFINITION, MIGRATIONS, usecases_for
from salesgrid_identity.domain import passwords
from salesgrid_identity.settings import IdentitySettings

ADMIN_PASSWORD = "Bootstrap-Secret-9"


@pytest.fixture
async def identity(database_url: str, nats_url: str, test_keys) -> AsyncIterator[RunningService]:  # type: ignore[no-untyped-def]
    async with run_service(
        DEFINITION,
        MIGRATIONS,
        database_url,
        nats_url,
        test_keys,
        settings_cls=IdentitySettings,
        trust_test_keys=False,
        lockout_max_failures=3,
    ) as running:
        await usecases_for(running.app.ctx).bootstrap_admin("admin", ADMIN_PASSWORD, "Acme", "Asia/Shanghai", "CNY")
        yield running


def stubs(running: RunningService) -> tuple[pb_grpc.AuthStub, pb_grpc.IdentityStub]:
    return pb_grpc.AuthStub(running.channel), pb_grpc.IdentityStub(running.channel)


async def login(running: RunningService, user: str, password: str) -> pb.TokenPair:
    auth, _ = stubs(running)
    return await auth.Login(pb.LoginRequest(login=user, password=password, client_ip="10.0.0.1"))


async def code_of(call) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    return error.value.code()


async def test_login_issues_tokens_and_wrong_password_is_refused(identity: RunningService) -> None:
    pair = await login(identity, "admin", ADMIN_PASSWORD)
    assert pair.access_token and pair.refresh_token and pair.token_type == "Bearer"
    assert await code_of(login(identity, "admin", "wrong-password-1")) == grpc.StatusCode.UNAUTHENTICATED
    assert await code_of(login(identity, "nobody", "whatever-12345")) == grpc.StatusCode.UNAUTHENTICATED


async def test_password_hashing_runs_off_the_event_loop(
    identity: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Argon2 takes tens of milliseconds of CPU: on the loop it would stall every other call."""
    threads: list[int] = []

    def recording(original):  # type: ignore[no-untyped-def]
        def run(*args: str) -> object:
            threads.append(threading.get_ident())
            return original(*args)

        return run

    monkeypatch.setattr(passwords, "verify_password", recording(passwords.verify_password))
    monkeypatch.setattr(passwords, "hash_password", recording(passwords.hash_password))
    await login(identity, "admin", ADMIN_PASSWORD)
    await code_of(login(identity, "nobody", "whatever-12345"))
    token = (await login(identity, "admin", ADMIN_PASSWORD)).access_token
    await stubs(identity)[1].ChangePassword(
        pb.ChangePasswordRequest(current_password=ADMIN_PASSWORD, new_password="Another-Secret-42"),
        metadata=bearer(token),
    )
    assert len(threads) >= 5 and threading.get_ident() not in threads


async def test_lockout_after_repeated_failures_and_admin_unlock(identity: RunningService) -> None:
    token = (await login(identity, "admin", ADMIN_PASSWORD)).access_token
    _, ident = stubs(identity)
    root = (await ident.ListOrgUnits(pb.ListOrgUnitsRequest(), metadata=bearer(token))).units[0]
    user = await ident.CreateUser(
        pb.CreateUserRequest(
            login="li.lei", display_name="李雷", unit_id=root.id, roles=["rep"], initial_password="Correct-Horse-77"
        ),
        metadata=bearer(token),
    )
    for _ in range(3):
        assert await code_of(login(identity, "li.lei", "bad-password-00")) == grpc.StatusCode.UNAUTHENTICATED
    # Locked now: even the right password is refused, with a clear reason.
    with pytest.raises(grpc.aio.AioRpcError) as locked:
        await login(identity, "li.lei", "Correct-Horse-77")
    assert locked.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "locked" in locked.value.details()
    await ident.UnlockUser(pb.UnlockUserRequest(id=user.id), metadata=bearer(token))
    pair = await login(identity, "li.lei", "Correct-Horse-77")
    assert pair.password_change_required  # forced change on first login


async def test_password_policy_names_the_field(identity: RunningService) -> None:
    token = (await login(identity, "admin", ADMIN_PASSWORD)).access_token
    _, ident = stubs(identity)
    root = (await ident.ListOrgUnits(pb.ListOrgUnitsRequest(), metadata=bearer(token))).units[0]
    for password, reason in [("short", "at least"), ("password123", "commonly used"), ("xx-han.mei-xx", "login")]:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await ident.CreateUser(
                pb.CreateUserRequest(
                    login="han.mei", display_name="韩梅", unit_id=root.id, roles=["rep"], initial_password=password
                ),
                metadata=bearer(token),
            )
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "initial_password" in error.value.details() and reason in error.value.details()


async def test_user_creation_writes_event_and_scope_limits_reads(identity: RunningService) -> None:
    token = (await login(identity, "admin", ADMIN_PASSWORD)).access_token
    _, ident = stubs(identity)
    root = (await ident.ListOrgUnits(pb.ListOrgUnitsRequest(), metadata=bearer(token))).units[0]
    east = await ident.CreateOrgUnit(
        pb.CreateOrgUnitRequest(
            parent_id=root.id, name="East", kind="region", time_zone="Asia/Shanghai", currency="CNY"
        ),
        metadata=bearer(token),
    )
    west = await ident.CreateOrgUnit(
        pb.CreateOrgUnitRequest(
            parent_id=root.id, name="West", kind="region", time_zone="Europe/Berlin", currency="EUR"
        ),
        metadata=bearer(token),
    )
    a = await ident.CreateUser(
        pb.CreateUserRequest(
            login="rep.a",
            display_name="A",
            unit_id=east.id,
            roles=["rep"],
            initial_password="Field-Sales-2026",
            password_change_required=False,
        ),
        metadata=bearer(token),
    )
    b = await ident.CreateUser(
        pb.CreateUserRequest(
            login="rep.b",
            display_name="B",
            unit_id=west.id,
            roles=["rep"],
            initial_password="Field-Sales-2026",
            password_change_required=False,
        ),
        metadata=bearer(token),
    )
    async with identity.app.ctx.sessions() as session:
        types = (await session.scalars(select(outbox.c.subject))).all()
    assert types.count("salesgrid.identity.user.created") == 3  # admin + two reps
    assert "salesgrid.identity.org_unit.created" in types

    rep_token = (await login(identity, "rep.a", "Field-Sales-2026")).access_token
    me = await ident.GetMe(pb.GetMeRequest(), metadata=bearer(rep_token))
    assert me.org_path == east.path and {p.name for p in me.permissions} >= {"customers:read"}
    assert (
        await code_of(ident.GetUser(pb.GetUserRequest(id=b.id), metadata=bearer(rep_token)))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    listed = await ident.ListUsers(pb.ListUsersRequest(), metadata=bearer(rep_token))
    assert b.id not in {u.id for u in listed.users}
    # A rep cannot grant himself roles or create users.
    assert (
        await code_of(
            ident.CreateUser(
                pb.CreateUserRequest(
                    login="x.y", display_name="X", unit_id=east.id, roles=["admin"], initial_password="Field-Sales-2026"
                ),
                metadata=bearer(rep_token),
            )
        )
        == grpc.StatusCode.PERMISSION_DENIED
    )
    assert a.version == 1


async def test_bad_input_is_rejected_naming_the_field(identity: RunningService) -> None:
    token = (await login(identity, "admin", ADMIN_PASSWORD)).access_token
    _, ident = stubs(identity)
    root = (await ident.ListOrgUnits(pb.ListOrgUnitsRequest(), metadata=bearer(token))).units[0]
    cases = [
        pb.CreateOrgUnitRequest(parent_id=root.id, name="X", time_zone="Mars/Olympus"),
        pb.CreateOrgUnitRequest(parent_id=root.id, name="X", ip_allowlist=["10.0.0.0/33"]),
        pb.CreateOrgUnitRequest(parent_id=root.id, name="X", currency="XXX"),
    ]
    for request, field in zip(cases, ["time_zone", "ip_allowlist[0]", "currency"], strict=True):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await ident.CreateOrgUnit(request, metadata=bearer(token))
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in error.value.details()
    child = await ident.CreateOrgUnit(pb.CreateOrgUnitRequest(parent_id=root.id, name="Child"), metadata=bearer(token))
    with pytest.raises(grpc.aio.AioRpcError) as cycle:
        await ident.MoveOrgUnit(pb.MoveOrgUnitRequest(id=root.id, new_parent_id=child.id), metadata=bearer(token))
    assert "cycle" in cycle.value.details()
    with pytest.raises(grpc.aio.AioRpcError) as duplicate:
        await ident.CreateUser(
            pb.CreateUserRequest(
                login="admin", display_name="Dup", unit_id=root.id, roles=["rep"], initial_password="Field-Sales-2026"
            ),
            metadata=bearer(token),
        )
    assert duplicate.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_refresh_rotates_and_deactivation_revokes(identity: RunningService) -> None:
    auth, ident = stubs(identity)
    admin = (await login(identity, "admin", ADMIN_PASSWORD)).access_token
    root = (await ident.ListOrgUnits(pb.ListOrgUnitsRequest(), metadata=bearer(admin))).units[0]
    user = await ident.CreateUser(
        pb.CreateUserRequest(
            login="wang.wu", display_name="王五", unit_id=root.id, roles=["rep"], initial_password="Field-Sales-2026"
        ),
        metadata=bearer(admin),
    )
    first = await login(identity, "wang.wu", "Field-Sales-2026")
    second = await auth.Refresh(pb.RefreshRequest(refresh_token=first.refresh_token))
    # Reusing a rotated refresh token revokes the whole session.
    assert (
        await code_of(auth.Refresh(pb.RefreshRequest(refresh_token=first.refresh_token)))
        == grpc.StatusCode.UNAUTHENTICATED
    )
    assert (
        await code_of(auth.Refresh(pb.RefreshRequest(refresh_token=second.refresh_token)))
        == grpc.StatusCode.UNAUTHENTICATED
    )
    third = await login(identity, "wang.wu", "Field-Sales-2026")
    await ident.DeactivateUser(pb.DeactivateUserRequest(id=user.id), metadata=bearer(admin))
    assert (
        await code_of(auth.Refresh(pb.RefreshRequest(refresh_token=third.refresh_token)))
        == grpc.StatusCode.UNAUTHENTICATED
    )
    assert (
        await code_of(ident.GetMe(pb.GetMeRequest(), metadata=bearer(third.access_token)))
        == grpc.StatusCode.UNAUTHENTICATED
    )
    assert await code_of(login(identity, "wang.wu", "Field-Sales-2026")) == grpc.StatusCode.UNAUTHENTICATED


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


async def test_ip_allowlist_is_inherited_and_enforced_at_login_and_on_every_call(identity: RunningService) -> None:
    auth, ident = stubs(identity)
    admin = (await login(identity, "admin", ADMIN_PASSWORD)).access_token
    root = (await ident.ListOrgUnits(pb.ListOrgUnitsRequest(), metadata=bearer(admin))).units[0]
    branch = await ident.CreateOrgUnit(
        pb.CreateOrgUnitRequest(parent_id=root.id, name="Guarded", kind="branch", ip_allowlist=["10.1.0.0/16"]),
        metadata=bearer(admin),
    )
    team = await ident.CreateOrgUnit(pb.CreateOrgUnitRequest(parent_id=branch.id, name="Team"), metadata=bearer(admin))
    await ident.CreateUser(
        pb.CreateUserRequest(
            login="guarded.rep", display_name="G", unit_id=team.id, roles=["rep"], initial_password="Field-Sales-2026"
        ),
        metadata=bearer(admin),
    )

    async def attempt(ip: str) -> pb.TokenPair:
        return await auth.Login(pb.LoginRequest(login="guarded.rep", password="Field-Sales-2026", client_ip=ip))

    # The team inherits the branch's list.
    assert await code_of(attempt("192.168.7.7")) == grpc.StatusCode.PERMISSION_DENIED
    pair = await attempt("10.1.2.3")
    inside = bearer(pair.access_token) + (("x-client-ip", "10.1.2.3"),)
    outside = bearer(pair.access_token) + (("x-client-ip", "192.168.7.7"),)
    assert (await ident.GetMe(pb.GetMeRequest(), metadata=inside)).login == "guarded.rep"
    assert await code_of(ident.GetMe(pb.GetMeRequest(), metadata=outside)) == grpc.StatusCode.PERMISSION_DENIED
    audit = await ident.ListAuditEvents(pb.ListAuditEventsRequest(action="auth.login"), metadata=bearer(admin))
    assert any(e.outcome == "denied" and "allow-list" in e.detail for e in audit.events)


async def test_signing_key_rotation_keeps_old_tokens_valid(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    def pem() -> str:
        return (
            Ed25519PrivateKey.generate()
            .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            .decode()
        )

    old_key, new_key = pem(), pem()
    async with run_service(
        DEFINITION,
        MIGRATIONS,
        database_url,
        nats_url,
        test_keys,
        settings_cls=IdentitySettings,
        trust_test_keys=False,
        signing_key=old_key,
        signing_key_id="k-old",
    ) as running:
        await usecases_for(running.app.ctx).bootstrap_admin("admin", ADMIN_PASSWORD, "Acme", "UTC", "CNY")
        old_token = (await login(running, "admin", ADMIN_PASSWORD)).access_token
        old_jwks = (await stubs(running)[0].GetJwks(pb.GetJwksRequest())).json
    async with run_service(
        DEFINITION,
        MIGRATIONS,
        database_url,
        nats_url,
        test_keys,
        settings_cls=IdentitySettings,
        trust_test_keys=False,
        signing_key=new_key,
        signing_key_id="k-new",
        retired_public_keys=old_jwks,
    ) as running:
        auth, ident = stubs(running)
        kids = [k["kid"] for k in json.loads((await auth.GetJwks(pb.GetJwksRequest())).json)["keys"]]
        assert kids == ["k-new", "k-old"]
        assert (await ident.GetMe(pb.GetMeRequest(), metadata=bearer(old_token))).login == "admin"
        new_token = (await login(running, "admin", ADMIN_PASSWORD)).access_token
        assert jwt.get_unverified_header(new_token)["kid"] == "k-new"
    # Once the overlap ends (old key no longer published), old tokens are refused.
    async with run_service(
        DEFINITION,
        MIGRATIONS,
        database_url,
        nats_url,
        test_keys,
        settings_cls=IdentitySettings,
        trust_test_keys=False,
        signing_key=new_key,
        signing_key_id="k-new",
    ) as running:
        assert (
            await code_of(stubs(running)[1].GetMe(pb.GetMeRequest(), metadata=bearer(old_token)))
            == grpc.StatusCode.UNAUTHENTICATED
        )


async def test_password_expiry(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from salesgrid_common.clock import FakeClock

    clock = FakeClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    async with run_service(
        DEFINITION,
        MIGRATIONS,
        database_url,
        nats_url,
        test_keys,
        settings_cls=IdentitySettings,
        trust_test_keys=False,
        clock=clock,
        password_expiry_days=90,
    ) as running:
        await usecases_for(running.app.ctx).bootstrap_admin("admin", ADMIN_PASSWORD, "Acme", "UTC", "CNY")
        assert not (await login(running, "admin", ADMIN_PASSWORD)).password_change_required
        clock.advance(timedelta(days=91))
        assert (await login(running, "admin", ADMIN_PASSWORD)).password_change_required  # expired


async def test_audit_trail_is_for_auditors_and_users_bad_input(identity: RunningService) -> None:
    _, ident = stubs(identity)
    admin = (await login(identity, "admin", ADMIN_PASSWORD)).access_token
    root = (await ident.ListOrgUnits(pb.ListOrgUnitsRequest(), metadata=bearer(admin))).units[0]
    for login_name, role in (("aud.itor", "auditor"), ("plain.rep", "rep")):
        await ident.CreateUser(
            pb.CreateUserRequest(
                login=login_name,
                display_name=login_name,
                unit_id=root.id,
                roles=[role],
                initial_password="Field-Sales-2026",
                password_change_required=False,
            ),
            metadata=bearer(admin),
        )
    auditor = (await login(identity, "aud.itor", "Field-Sales-2026")).access_token
    rep = (await login(identity, "plain.rep", "Field-Sales-2026")).access_token
    page = await ident.ListAuditEvents(
        pb.ListAuditEventsRequest(action="users.create", page_size=1), metadata=bearer(auditor)
    )
    assert len(page.events) == 1 and page.next_page_token
    rest = await ident.ListAuditEvents(
        pb.ListAuditEventsRequest(action="users.create", page_token=page.next_page_token), metadata=bearer(auditor)
    )
    assert page.events[0].id not in {e.id for e in rest.events} and len(rest.events) >= 2
    assert (
        await code_of(ident.ListAuditEvents(pb.ListAuditEventsRequest(), metadata=bearer(rep)))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    # A manager who is the user himself, an unknown role: refused naming the field, nothing written.
    me = await ident.GetMe(pb.GetMeRequest(), metadata=bearer(admin))
    with pytest.raises(grpc.aio.AioRpcError) as self_manager:
        await ident.UpdateUser(pb.UpdateUserRequest(id=me.id, manager_id=me.id), metadata=bearer(admin))
    assert self_manager.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(self_manager.value) == ["manager_id"]
    with pytest.raises(grpc.aio.AioRpcError) as unknown_role:
        await ident.CreateUser(
            pb.CreateUserRequest(
                login="x.role", display_name="X", unit_id=root.id, roles=["wizard"], initial_password="Field-Sales-2026"
            ),
            metadata=bearer(admin),
        )
    assert unknown_role.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(unknown_role.value) == ["roles[0]"]
    users = await ident.ListUsers(pb.ListUsersRequest(), metadata=bearer(admin))
    assert "x.role" not in {u.login for u in users.users}
    # Deactivating a unit with active users is refused.
    assert (
        await code_of(ident.DeactivateOrgUnit(pb.DeactivateOrgUnitRequest(id=root.id), metadata=bearer(admin)))
        == grpc.StatusCode.FAILED_PRECONDITION
    )


async def test_temporary_password_must_be_changed_before_anything_else(identity: RunningService) -> None:
    auth, ident = stubs(identity)
    admin = (await login(identity, "admin", ADMIN_PASSWORD)).access_token
    root = (await ident.ListOrgUnits(pb.ListOrgUnitsRequest(), metadata=bearer(admin))).units[0]
    await ident.CreateUser(
        pb.CreateUserRequest(
            login="new.hire",
            display_name="New",
            unit_id=root.id,
            roles=["manager"],
            initial_password="Temporary-Pass-1",
        ),
        metadata=bearer(admin),
    )
    first = await login(identity, "new.hire", "Temporary-Pass-1")
    assert first.password_change_required
    assert (await ident.GetMe(pb.GetMeRequest(), metadata=bearer(first.access_token))).login == "new.hire"
    with pytest.raises(grpc.aio.AioRpcError) as blocked:
        await ident.ListUsers(pb.ListUsersRequest(), metadata=bearer(first.access_token))
    assert blocked.value.code() == grpc.StatusCode.PERMISSION_DENIED and "password change" in blocked.value.details()
    with pytest.raises(grpc.aio.AioRpcError) as same:
        await ident.ChangePassword(
            pb.ChangePasswordRequest(current_password="Temporary-Pass-1", new_password="Temporary-Pass-1"),
            metadata=bearer(first.access_token),
        )
    assert field_violations(same.value) == ["new_password"]
    await ident.ChangePassword(
        pb.ChangePasswordRequest(current_password="Temporary-Pass-1", new_password="My-Own-Secret-42"),
        metadata=bearer(first.access_token),
    )
    renewed = await auth.Refresh(pb.RefreshRequest(refresh_token=first.refresh_token))
    assert not renewed.password_change_required
    assert (await ident.ListUsers(pb.ListUsersRequest(), metadata=bearer(renewed.access_token))).users
