"""Login throttling through gRPC on SQLite and PostgreSQL: an office behind one NAT keeps
logging in while a script fails from the same address; administrators see limits, locked
accounts and throttled addresses, and clear them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from salesgrid.identity.v1 import identity_pb2 as pb
from salesgrid.identity.v1 import identity_pb2_grpc as pb_grpc
from salesgrid_common.clock import FakeClock
from salesgrid_dev.testing import RunningService, bearer
from salesgrid_identity.app import usecases_for

from identity_fixtures import ADMIN_PASSWORD, code_of, identity_service

REP_PASSWORD = "Field-Sales-2026"
OFFICE = "203.0.113.9"  # one NAT address for a whole branch


@pytest.fixture
async def identity(database_url: str, nats_url: str, test_keys) -> AsyncIterator[tuple[RunningService, list[float]]]:  # type: ignore[no-untyped-def]
    clock = FakeClock(datetime.now(UTC))  # tokens are verified against the real time
    async with identity_service(
        database_url,
        nats_url,
        test_keys,
        clock=clock,
        lockout_max_failures=3,
        lockout_max_failures_per_ip=4,
        login_throttle_failures_per_login=2,
    ) as running:
        usecases = usecases_for(running.app.ctx)
        pauses: list[float] = []

        async def record_pause(seconds: float) -> None:
            pauses.append(seconds)

        usecases.sleep = record_pause
        running.app.ctx.extras["test_clock"] = clock
        yield running, pauses


async def attempt(running: RunningService, login: str, password: str, ip: str = OFFICE) -> pb.TokenPair:
    return await pb_grpc.AuthStub(running.channel).Login(pb.LoginRequest(login=login, password=password, client_ip=ip))


async def test_a_failing_script_behind_the_office_nat_locks_nobody_else_out(
    identity: tuple[RunningService, list[float]],
) -> None:
    running, pauses = identity
    ident = pb_grpc.IdentityStub(running.channel)
    admin = bearer((await attempt(running, "admin", ADMIN_PASSWORD, "198.51.100.1")).access_token)
    root = (await ident.ListOrgUnits(pb.ListOrgUnitsRequest(), metadata=admin)).units[0]
    await ident.CreateUser(
        pb.CreateUserRequest(
            login="wang.fang",
            display_name="王芳",
            unit_id=root.id,
            roles=["rep"],
            initial_password=REP_PASSWORD,
            password_change_required=False,
        ),
        metadata=admin,
    )
    # A mistyped import script fails again and again with a login that does not exist, and
    # someone spraying guesses over several logins: the address passes its limit of 4.
    for login in ("svc-import", "svc-import", "guess-a", "guess-b"):
        assert await code_of(attempt(running, login, "nope-nope-1")) == grpc.StatusCode.UNAUTHENTICATED
    assert pauses[-1] == pytest.approx(0.25)  # the 4th failure reached the limit: answered after a pause
    # Clean accounts from the same address still log in with their correct password, unpaused.
    paused_before = len(pauses)
    assert (await attempt(running, "admin", ADMIN_PASSWORD)).access_token
    assert (await attempt(running, "wang.fang", REP_PASSWORD)).access_token
    assert len(pauses) == paused_before
    # The login that keeps failing from the address is refused before any password check, and
    # further failures from the throttled address are slowed more and more.
    assert await code_of(attempt(running, "svc-import", "nope-nope-1")) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert await code_of(attempt(running, "guess-c", "nope-nope-1")) == grpc.StatusCode.UNAUTHENTICATED
    assert pauses[-1] == pytest.approx(0.5)
    # The same login from another address is not refused.
    assert (
        await code_of(attempt(running, "svc-import", "nope-nope-1", "198.51.100.7")) == grpc.StatusCode.UNAUTHENTICATED
    )
    # The throttle ends with the window.
    running.app.ctx.extras["test_clock"].advance(timedelta(minutes=16))
    assert await code_of(attempt(running, "svc-import", "nope-nope-1")) == grpc.StatusCode.UNAUTHENTICATED


async def test_administrators_see_limits_locks_and_throttled_addresses_and_clear_them(
    identity: tuple[RunningService, list[float]],
) -> None:
    running, _ = identity
    ident = pb_grpc.IdentityStub(running.channel)
    admin = bearer((await attempt(running, "admin", ADMIN_PASSWORD, "198.51.100.1")).access_token)
    root = (await ident.ListOrgUnits(pb.ListOrgUnitsRequest(), metadata=admin)).units[0]
    rep = await ident.CreateUser(
        pb.CreateUserRequest(
            login="li.lei",
            display_name="李雷",
            unit_id=root.id,
            roles=["rep"],
            initial_password=REP_PASSWORD,
            password_change_required=False,
        ),
        metadata=admin,
    )
    for _ in range(3):  # per-account lockout is kept: 3 failures lock li.lei
        await code_of(attempt(running, "li.lei", "bad-password-00", "192.0.2.10"))
    for login in ("svc-import", "svc-import", "guess-a", "guess-b"):
        await code_of(attempt(running, login, "nope-nope-1"))
    assert await code_of(attempt(running, "li.lei", REP_PASSWORD, "192.0.2.99")) == grpc.StatusCode.FAILED_PRECONDITION

    view = await ident.GetLoginProtection(pb.GetLoginProtectionRequest(), metadata=admin)
    assert (
        view.limits.max_failures_per_account,
        view.limits.max_failures_per_address,
        view.limits.max_failures_per_login_from_throttled_address,
        view.limits.window_minutes,
    ) == (3, 4, 2, 15)
    locked = {a.login: a for a in view.accounts}
    assert set(locked) == {"li.lei"} and locked["li.lei"].failed_attempts == 3
    assert locked["li.lei"].HasField("locked_until")
    assert [(a.address, a.failures, a.logins) for a in view.addresses] == [(OFFICE, 4, 3)]

    # A rep sees none of it and clears nothing.
    await ident.CreateUser(
        pb.CreateUserRequest(
            login="plain.rep",
            display_name="Rep",
            unit_id=root.id,
            roles=["rep"],
            initial_password=REP_PASSWORD,
            password_change_required=False,
        ),
        metadata=admin,
    )
    plain = bearer((await attempt(running, "plain.rep", REP_PASSWORD, "198.51.100.1")).access_token)
    assert (
        await code_of(ident.GetLoginProtection(pb.GetLoginProtectionRequest(), metadata=plain))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    assert (
        await code_of(ident.ClearAddressThrottle(pb.ClearAddressThrottleRequest(address=OFFICE), metadata=plain))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    assert (
        await code_of(ident.ClearAddressThrottle(pb.ClearAddressThrottleRequest(address=" "), metadata=admin))
        == grpc.StatusCode.INVALID_ARGUMENT
    )

    # Unlock the account and clear the address: both disappear from the view, and the refused
    # login is checked again (a wrong password is a plain failure, not a refusal).
    assert await code_of(attempt(running, "svc-import", "nope-nope-1")) == grpc.StatusCode.RESOURCE_EXHAUSTED
    await ident.UnlockUser(pb.UnlockUserRequest(id=rep.id), metadata=admin)
    cleared = await ident.ClearAddressThrottle(pb.ClearAddressThrottleRequest(address=OFFICE), metadata=admin)
    assert cleared.cleared_failures == 4  # a refusal records no failure
    view = await ident.GetLoginProtection(pb.GetLoginProtectionRequest(), metadata=admin)
    assert not view.accounts and not view.addresses
    assert await code_of(attempt(running, "svc-import", "nope-nope-1")) == grpc.StatusCode.UNAUTHENTICATED
    assert (await attempt(running, "li.lei", REP_PASSWORD, "192.0.2.99")).access_token
    audit = await ident.ListAuditEvents(pb.ListAuditEventsRequest(action="auth.throttle.clear"), metadata=admin)
    assert len(audit.events) == 1 and OFFICE in audit.events[0].detail
