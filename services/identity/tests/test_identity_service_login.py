"""Logging in to identity through gRPC on SQLite and PostgreSQL: tokens and refused passwords,
hashing off the event loop, lockout and unlock, the password policy, expiry and temporary
passwords, refresh rotation and revocation, and the unit's IP allow-list."""

from __future__ import annotations

import threading

import grpc
import pytest

from salesgrid.identity.v1 import identity_pb2 as pb
from salesgrid_dev.testing import RunningService, bearer, field_violations
from salesgrid_identity.domain import passwords

from identity_fixtures import ADMIN_PASSWORD, code_of, identity_service, login, stubs
from identity_fixtures import identity  # noqa: F401 - fixtures


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


async def test_password_expiry(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    from salesgrid_common.clock import FakeClock

    clock = FakeClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    async with identity_service(database_url, nats_url, test_keys, clock=clock, password_expiry_days=90) as running:
        assert not (await login(running, "admin", ADMIN_PASSWORD)).password_change_required
        clock.advance(timedelta(days=91))
        assert (await login(running, "admin", ADMIN_PASSWORD)).password_change_required  # expired


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
