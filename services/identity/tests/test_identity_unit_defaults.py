"""Identity on SQLite and PostgreSQL: a unit created without a time zone or currency takes its
parent's (and publishes them), and the audit trail names the automation that acted in another
service (`system:<service>`), also for an event that came without an actor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.identity_events_pb2 import OrgUnitState
from salesgrid.events.v1.pipeline_events_pb2 import PipelineSlaNotice
from salesgrid.identity.v1 import identity_pb2 as pb
from salesgrid.identity.v1 import identity_pb2_grpc as pb_grpc
from salesgrid_common.actors import system_actor
from salesgrid_common.events.consumer import apply_once
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_common.events.tables import outbox
from salesgrid_dev.testing import RunningService, bearer
from salesgrid_identity.app import audit_subscriptions
from salesgrid_identity.domain.unit_defaults import UnitDefaults, inherited

from identity_fixtures import ADMIN_PASSWORD, identity_service


@pytest.fixture
async def identity(database_url: str, nats_url: str, test_keys) -> AsyncIterator[RunningService]:  # type: ignore[no-untyped-def]
    async with identity_service(database_url, nats_url, test_keys, timezone="Asia/Shanghai") as running:
        yield running


async def admin_token(running: RunningService) -> tuple[tuple[str, str], ...]:
    pair = await pb_grpc.AuthStub(running.channel).Login(
        pb.LoginRequest(login="admin", password=ADMIN_PASSWORD, client_ip="10.0.0.1")
    )
    return bearer(pair.access_token)


def test_the_defaults_rule() -> None:
    branch = UnitDefaults("Europe/Berlin", "EUR")
    assert inherited(branch, time_zone="", currency="") == branch
    assert inherited(branch, time_zone="Asia/Tokyo", currency="") == UnitDefaults("Asia/Tokyo", "EUR")
    assert inherited(None, time_zone="", currency="") == UnitDefaults("UTC", "CNY")


async def test_a_unit_without_zone_or_currency_takes_its_parents(identity: RunningService) -> None:
    ident = pb_grpc.IdentityStub(identity.channel)
    admin = await admin_token(identity)
    root = (await ident.ListOrgUnits(pb.ListOrgUnitsRequest(), metadata=admin)).units[0]
    berlin = await ident.CreateOrgUnit(
        pb.CreateOrgUnitRequest(
            parent_id=root.id, name="Berlin", kind="branch", time_zone="Europe/Berlin", currency="EUR"
        ),
        metadata=admin,
    )
    team = await ident.CreateOrgUnit(
        pb.CreateOrgUnitRequest(parent_id=berlin.id, name="Team B", kind="team"), metadata=admin
    )
    squad = await ident.CreateOrgUnit(pb.CreateOrgUnitRequest(parent_id=team.id, name="Squad"), metadata=admin)
    own = await ident.CreateOrgUnit(
        pb.CreateOrgUnitRequest(parent_id=berlin.id, name="Tokyo desk", time_zone="Asia/Tokyo"), metadata=admin
    )
    shanghai_team = await ident.CreateOrgUnit(
        pb.CreateOrgUnitRequest(parent_id=root.id, name="HQ team"), metadata=admin
    )
    assert (team.time_zone, team.currency) == ("Europe/Berlin", "EUR")
    assert (squad.time_zone, squad.currency) == ("Europe/Berlin", "EUR")  # two levels down
    assert (own.time_zone, own.currency) == ("Asia/Tokyo", "EUR")
    assert (shanghai_team.time_zone, shanghai_team.currency) == ("Asia/Shanghai", "CNY")
    stored = await ident.GetOrgUnit(pb.GetOrgUnitRequest(id=team.id), metadata=admin)
    assert stored.time_zone == "Europe/Berlin"

    async with identity.app.ctx.sessions() as session:
        rows = (
            await session.scalars(
                select(outbox.c.envelope).where(outbox.c.subject == "salesgrid.identity.org_unit.created")
            )
        ).all()
    published = {
        state.unit_id: state.time_zone
        for state in (OrgUnitState.FromString(Envelope.FromString(row).payload) for row in rows)
    }
    assert published[team.id] == "Europe/Berlin" and published[squad.id] == "Europe/Berlin"


async def test_the_audit_trail_names_automation_in_other_services(identity: RunningService) -> None:
    pipeline_audit = next(s for s in audit_subscriptions(identity.app.ctx) if s.producer == "pipeline")
    route = pipeline_audit.route("salesgrid.pipeline.sla.overdue")
    assert route is not None
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    notice = PipelineSlaNotice(opportunity_id="opp-1", stage="opportunity", level="overdue")
    for actor in (system_actor("pipeline"), ""):  # the second from a producer that left it blank
        envelope = build_envelope(
            "salesgrid.pipeline.sla.overdue", "pipeline", notice, EventMeta(aggregate_id="opp-1", actor_id=actor), at
        )
        assert await apply_once(identity.app.ctx.sessions, pipeline_audit.name, envelope, route[1], envelope.payload)
    ident = pb_grpc.IdentityStub(identity.channel)
    audit = await ident.ListAuditEvents(
        pb.ListAuditEventsRequest(action="pipeline.sla.overdue"), metadata=await admin_token(identity)
    )
    assert [(e.actor_id, e.target_id, e.source) for e in audit.events] == [("system:pipeline", "opp-1", "pipeline")] * 2
