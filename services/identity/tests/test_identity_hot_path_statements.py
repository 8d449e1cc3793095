"""The statements identity's per-request paths run (login, GetMe, token refresh, an API key's
token exchange), counted at the database driver on SQLite and PostgreSQL: moving row handling
into stores must not add a query to any of them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import pytest

from salesgrid_common.auth.principal import Principal
from salesgrid_common.scopes import Scope
from salesgrid_dev.statements import statements_sent
from salesgrid_dev.testing import RunningService
from salesgrid_identity.app import usecases_for
from salesgrid_identity.domain import roles
from salesgrid_identity.usecases import IdentityUseCases

from identity_fixtures import ADMIN_PASSWORD, identity_service

PASSWORD = ADMIN_PASSWORD  # the administrator identity_service bootstraps
IP = "198.51.100.7"
T = TypeVar("T")


@pytest.fixture
async def identity(database_url: str, nats_url: str, test_keys) -> AsyncIterator[RunningService]:  # type: ignore[no-untyped-def]
    async with identity_service(database_url, nats_url, test_keys) as running:
        yield running


async def statements(running: RunningService, call: Callable[[], Awaitable[T]]) -> tuple[T, list[str]]:
    """The call's statements (salesgrid_dev.statements), but for the outbox relay's."""
    return await statements_sent([running.app.engine, running.app.read_engine], call, ignored={"outbox"})


async def test_login_getme_refresh_and_api_key_exchange_run_no_more_statements(identity: RunningService) -> None:
    """Counted on main before the stores took over these paths, then lowered when a unit and its
    ancestors became one query (the unit's chain), then again when a user, his unit's chain and
    his roles became one (his standing); a new query on any of them fails here."""
    uc: IdentityUseCases = usecases_for(identity.app.ctx)
    tokens, login_sql = await statements(identity, lambda: uc.login("admin", PASSWORD, IP))
    # the address's failures, the user's standing (with his unit's chain and roles held: the
    # allow-list and the token's principal), the new refresh token, the audit entry
    assert login_sql == sorted(
        ["SELECT login_failures", "SELECT users", "INSERT refresh_tokens", "INSERT audit_events"]
    )
    admin = await _admin(uc)
    (me, _current), me_sql = await statements(identity, lambda: uc.me(admin))
    assert me is not None and me.login == "admin"
    # the user's standing: his row, his unit's chain, the roles he holds
    assert me_sql == ["SELECT users"]
    _, refresh_sql = await statements(identity, lambda: uc.refresh(tokens.refresh_token, IP))
    # the token, the user's standing (allow-list and the token's principal), the used token
    # revoked, the new one
    assert refresh_sql == sorted(
        ["SELECT refresh_tokens", "SELECT users", "UPDATE refresh_tokens", "INSERT refresh_tokens"]
    )
    key, secret = await uc.create_api_key(admin, "ERP", admin.unit_id, {"customers:read": "all"}, 30)
    _, key_sql = await statements(identity, lambda: uc.authenticate_api_key(secret, IP))
    # the key, its unit's chain (allow-list and the token's unit), its last use
    assert key_sql == sorted(["SELECT api_keys", "SELECT org_units", "UPDATE api_keys"])
    assert key.id


async def _admin(uc: IdentityUseCases) -> Principal:
    async with uc.reader() as session:
        from salesgrid_identity.stores.users import user_by_login

        user = await user_by_login(session, "admin")
        assert user is not None
        unit = await uc._unit(session, user.unit_id)
    return Principal(
        subject_id=user.id,
        kind="user",
        unit_id=user.unit_id,
        org_path=unit.path,
        permissions={k: Scope.ALL for k in roles.CATALOGUE},
        client_ip=IP,
    )
