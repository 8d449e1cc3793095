"""A user's standing (his row, his unit's chain, his roles' stored grants) read in one statement
for GetMe, refresh and login, and what is memoised from it (the permissions of a set of stored
grants, the encoded permission list): on SQLite and PostgreSQL, every change to the tables is seen
by the next call."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import grpc
import pytest
from sqlalchemy import update

from salesgrid.identity.v1 import identity_pb2 as pb
from salesgrid.identity.v1 import identity_pb2_grpc as pb_grpc
from salesgrid_common.auth.principal import Principal
from salesgrid_common.db import create_engine, reading, session_factory
from salesgrid_common.driver_rows import compiled_for
from salesgrid_common.errors import ValidationFailed
from salesgrid_common.scopes import Scope
from salesgrid_dev.migrated import migrate
from salesgrid_dev.testing import RunningService, bearer
from salesgrid_identity import models
from salesgrid_identity.app import MIGRATIONS
from salesgrid_identity.domain.org import OrgUnit
from salesgrid_identity.domain.roles import Role
from salesgrid_identity.domain.users import User
from salesgrid_identity.stores.org_units import insert_unit
from salesgrid_identity.stores.roles import insert_role
from salesgrid_identity.stores.standing import _STATEMENTS, permissions_of, standing_by_id, standing_by_login
from salesgrid_identity.stores.users import insert_user
from salesgrid_identity.translate.records import partner_pb, perms_pb, user_pb
from salesgrid_identity.usecases._support import principal_of

from identity_fixtures import identity_service

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
PASSWORD = "Field-Sales-2026"


def unit(unit_id: str, parent: str | None, path: str, allowlist: tuple[str, ...] | None = None) -> OrgUnit:
    return OrgUnit(
        unit_id,
        parent,
        unit_id.upper(),
        "",
        "branch",
        path,
        "Asia/Shanghai",
        "CNY",
        NOW,
        has_ip_allowlist=allowlist is not None,
        ip_allowlist=allowlist or (),
    )


def user(user_id: str, unit_id: str, roles: tuple[str, ...], active: bool = True) -> User:
    return User(user_id, user_id, user_id.title(), "", unit_id, None, roles, "$argon2id$h", NOW, NOW, active=active)


async def test_a_standing_is_the_user_his_units_path_the_nearest_allowlist_and_each_held_roles_grants(
    database_url: str,
) -> None:
    """Each unit of the chain and each role once, whatever the rows multiply to; an ancestor's
    lookalike (LIKE wildcards in ids) is not in the chain; a role code with no row grants nothing;
    the same answer by id and by login."""
    await asyncio.to_thread(migrate, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    buyer = Role("buyer", "Buyer", {"customers:read": "own", "leads:read": "team"})
    seller = Role("seller", "Seller", {"customers:read": "subtree", "customers:create": "own"})
    try:
        async with sessions() as session, session.begin():
            for each in (
                unit("u-root", None, "/u-root/", ("10.0.0.0/8",)),
                unit("u_e", "u-root", "/u-root/u_e/", ("10.1.0.0/16", "192.0.2.1/32")),
                unit("uxe", "u-root", "/u-root/uxe/", ("172.16.0.0/12",)),  # "u_e" as a LIKE pattern matches it
                unit("t%1", "u_e", "/u-root/u_e/t%1/"),
            ):
                await insert_unit(session, each)
            insert_role(session, buyer)
            insert_role(session, seller)
            await insert_user(session, user("li.lei", "t%1", ("seller", "gone", "buyer")))
            await insert_user(session, user("han.mei", "u-root", ()))
        async with sessions() as session:
            li = await standing_by_id(session, "li.lei")
            assert li == await standing_by_login(session, "li.lei")
            han = await standing_by_id(session, "han.mei")
            assert await standing_by_id(session, "nobody") is None
            assert await standing_by_login(session, "") is None
        async with reading(sessions) as reads:  # GetMe's way: the driver's rows, columns by name
            assert await standing_by_id(reads, "li.lei") == li
            assert await standing_by_id(reads, "han.mei") == han
            assert await standing_by_id(reads, "nobody") is None
        for by in ("id", "login"):  # ... which it did read: the statement runs on the driver
            assert compiled_for(_STATEMENTS[engine.dialect.name, by], engine.sync_engine.dialect, True) is not None
    finally:
        await engine.dispose()
    assert li is not None and han is not None
    assert li.user == user("li.lei", "t%1", ("seller", "gone", "buyer"))
    assert (li.org_path, li.ip_allowlist) == ("/u-root/u_e/t%1/", ("10.1.0.0/16", "192.0.2.1/32"))
    assert [json.loads(text) for text in li.role_grants] == [buyer.permissions, seller.permissions]
    assert li.permissions == {
        "customers:read": Scope.SUBTREE,
        "customers:create": Scope.OWN,
        "leads:read": Scope.TEAM,
    }
    assert (han.org_path, han.ip_allowlist, han.role_grants, dict(han.permissions)) == (
        "/u-root/",
        ("10.0.0.0/8",),
        (),
        {},
    )
    principal = principal_of(li)
    assert (principal.subject_id, principal.unit_id, principal.roles, principal.name) == (
        "li.lei",
        "t%1",
        ("seller", "gone", "buyer"),
        "Li.Lei",
    )


def test_permissions_are_memoised_by_the_stored_grants_and_a_bad_grant_fails_every_time() -> None:
    grants = (json.dumps({"customers:read": "own"}), json.dumps({"customers:read": "all", "leads:read": "team"}))
    first = permissions_of(grants)
    assert first == {"customers:read": Scope.ALL, "leads:read": Scope.TEAM}
    assert permissions_of(grants) is first  # one mapping per set of grants...
    with pytest.raises(TypeError):
        first["customers:read"] = Scope.OWN  # type: ignore[index]  # ...which nobody can change
    assert permissions_of(grants[:1]) == {"customers:read": Scope.OWN}
    for _ in range(2):
        with pytest.raises(ValidationFailed):
            permissions_of((json.dumps({"customers:fly": "own"}),))


def test_the_encoded_permission_list_is_the_one_built_message_by_message() -> None:
    me = user("li.lei", "u-1", ("rep",))
    for perms in (
        {"leads:read": Scope.TEAM, "customers:read": Scope.OWN},
        {"customers:read": Scope.ALL},
        {"leads:read": Scope.TEAM, "customers:read": Scope.OWN},  # memoised this time
        {},
    ):
        principal = Principal("li.lei", "user", "u-1", "/u-1/", perms)
        got = user_pb(me, principal)
        assert list(got.permissions) == perms_pb(perms)
        assert got.org_path == "/u-1/" and got.login == "li.lei" and got.roles == ["rep"]
        partner = partner_pb(replace(principal, kind="api_key", name="ERP"))
        assert list(partner.permissions) == perms_pb(perms)
        assert (partner.kind, partner.display_name, partner.unit_id, partner.active) == ("api_key", "ERP", "u-1", True)
    assert not user_pb(me, None).permissions


@pytest.fixture
async def identity(database_url: str, nats_url: str, test_keys) -> AsyncIterator[RunningService]:  # type: ignore[no-untyped-def]
    async with identity_service(database_url, nats_url, test_keys) as running:
        yield running


async def test_getme_sees_every_change_to_roles_grants_units_and_the_user_at_once(identity: RunningService) -> None:
    """Nothing read from the tables is kept between calls: a role's edited grants (another replica,
    a release's built-in roles), the user's new roles, an allow-list set on his unit and his
    deactivation all show in the very next GetMe."""
    auth, ident = pb_grpc.AuthStub(identity.channel), pb_grpc.IdentityStub(identity.channel)

    async def login(name: str, password: str, ip: str = "10.1.2.3") -> str:
        return (await auth.Login(pb.LoginRequest(login=name, password=password, client_ip=ip))).access_token

    async def me(token: str, ip: str = "10.1.2.3") -> pb.User:
        return await ident.GetMe(pb.GetMeRequest(), metadata=bearer(token) + (("x-client-ip", ip),))

    def perms(answer: pb.User) -> dict[str, str]:
        return {p.name: p.scope for p in answer.permissions}

    admin = bearer(await login("admin", "Bootstrap-Secret-9"))
    root = (await ident.ListOrgUnits(pb.ListOrgUnitsRequest(), metadata=admin)).units[0]
    branch = await ident.CreateOrgUnit(pb.CreateOrgUnitRequest(parent_id=root.id, name="Branch"), metadata=admin)
    await ident.CreateRole(
        pb.CreateRoleRequest(code="buyer", name="Buyer", permissions=[pb.Permission(name="leads:read", scope="own")]),
        metadata=admin,
    )
    created = await ident.CreateUser(
        pb.CreateUserRequest(
            login="wang.wu",
            display_name="王五",
            unit_id=branch.id,
            roles=["buyer"],
            initial_password=PASSWORD,
            password_change_required=False,
        ),
        metadata=admin,
    )
    token = await login("wang.wu", PASSWORD)
    assert perms(await me(token)) == {"leads:read": "own"}

    async with identity.app.ctx.sessions() as session, session.begin():
        await session.execute(
            update(models.Role).where(models.Role.code == "buyer").values(permissions={"leads:read": "subtree"})
        )
    assert perms(await me(token)) == {"leads:read": "subtree"}

    await ident.UpdateUser(
        pb.UpdateUserRequest(id=created.id, expected_version=created.version, set_roles=True, roles=["buyer", "rep"]),
        metadata=admin,
    )
    answer = await me(token)
    assert list(answer.roles) == ["buyer", "rep"]
    assert perms(answer)["leads:read"] == "subtree" and perms(answer)["customers:create"] == "own"

    await ident.UpdateOrgUnit(
        pb.UpdateOrgUnitRequest(
            id=branch.id, expected_version=branch.version, set_ip_allowlist=True, ip_allowlist=["10.1.0.0/16"]
        ),
        metadata=admin,
    )
    assert (await me(token, "10.1.2.3")).login == "wang.wu"
    with pytest.raises(grpc.aio.AioRpcError) as outside:
        await me(token, "192.168.7.7")
    assert outside.value.code() == grpc.StatusCode.PERMISSION_DENIED

    await ident.DeactivateUser(pb.DeactivateUserRequest(id=created.id), metadata=admin)
    with pytest.raises(grpc.aio.AioRpcError) as deactivated:
        await me(token)
    assert deactivated.value.code() == grpc.StatusCode.UNAUTHENTICATED
