"""Identity under test and the helpers its gRPC tests share (imported by name, the fixtures with
them; conftest.py puts this folder on sys.path): the service on its own signing keys with an
administrator bootstrapped, its stubs, a login and the status code of a refused call."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from salesgrid.identity.v1 import identity_pb2 as pb
from salesgrid.identity.v1 import identity_pb2_grpc as pb_grpc
from salesgrid_dev.testing import RunningService, run_service
from salesgrid_identity.app import DEFINITION, MIGRATIONS, usecases_for
from salesgrid_identity.settings import IdentitySettings


ADMIN_PASSWORD = "Bootstrap-Secret-9"


def run_identity(  # type: ignore[no-untyped-def]
    database_url: str, nats_url: str, test_keys, **settings: Any
) -> contextlib.AbstractAsyncContextManager[RunningService]:
    """Identity as it runs (it verifies the tokens it signs with its own key, not the test keys),
    with `settings` over the defaults."""
    return run_service(
        DEFINITION,
        MIGRATIONS,
        database_url,
        nats_url,
        test_keys,
        settings_cls=IdentitySettings,
        trust_test_keys=False,
        **settings,
    )


@contextlib.asynccontextmanager
async def identity_service(  # type: ignore[no-untyped-def]
    database_url: str, nats_url: str, test_keys, *, timezone: str = "UTC", **settings: Any
) -> AsyncIterator[RunningService]:
    """`run_identity` with the administrator `admin` (ADMIN_PASSWORD) bootstrapped in a company on
    `timezone`: the one set-up of the gRPC tests' fixtures."""
    async with run_identity(database_url, nats_url, test_keys, **settings) as running:
        await usecases_for(running.app.ctx).bootstrap_admin("admin", ADMIN_PASSWORD, "Acme", timezone, "CNY")
        yield running


@pytest.fixture
async def identity(database_url: str, nats_url: str, test_keys) -> AsyncIterator[RunningService]:  # type: ignore[no-untyped-def]
    async with identity_service(
        database_url, nats_url, test_keys, timezone="Asia/Shanghai", lockout_max_failures=3
    ) as running:
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
