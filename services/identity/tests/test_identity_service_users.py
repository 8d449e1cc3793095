"""Identity's users through gRPC on SQLite and PostgreSQL: creation writes its event and scope
limits what is read, bad input is refused naming the field, and the audit trail is for auditors."""

from __future__ import annotations

import grpc
import pytest
from sqlalchemy import select

from salesgrid.identity.v1 import identity_pb2 as pb
from salesgrid_common.events.tables import outbox
from salesgrid_dev.testing import RunningService, bearer, field_violations

from identity_fixtures import ADMIN_PASSWORD, code_of, login, stubs
from identity_fixtures import identity  # noqa: F401 - fixtures


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
