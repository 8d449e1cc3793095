"""Sensitive reads are recorded through the bus: the gateway publishes the record (in a batch of the
reads its worker served meanwhile, see test_group_commit) to its own JetStream stream and waits for the acknowledgement before it answers; a read whose record cannot
be stored is refused (503), never served unaudited. (Identity writing it to the trail is covered
end to end by tests/integration/test_platform.py.)"""

from __future__ import annotations

import asyncio

import grpc
import pytest
from nats.js.api import StreamConfig

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.gateway_events_pb2 import SensitiveReads
from salesgrid.identity.v1 import identity_pb2, identity_pb2_grpc
from salesgrid_common.events.bus import connect
from salesgrid_dev.processes import free_port
from salesgrid_dev.testing import TestKeys, principal
from salesgrid_dev.gateway_client import test_client
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings


class FakeIdentity(identity_pb2_grpc.AuthServicer, identity_pb2_grpc.IdentityServicer):
    def __init__(self, keys: TestKeys) -> None:
        self.jwks = keys.jwks()
        self.audited: list[identity_pb2.RecordAuditRequest] = []

    async def GetJwks(self, request, context):  # type: ignore[no-untyped-def]
        return identity_pb2.Jwks(json=self.jwks)

    async def ListUsers(self, request, context):  # type: ignore[no-untyped-def]
        return identity_pb2.ListUsersResponse()

    async def RecordAudit(self, request, context):  # type: ignore[no-untyped-def]
        self.audited.append(request)
        return identity_pb2.RecordAuditResponse(id="a-1")


@pytest.fixture
async def identity(test_keys: TestKeys):  # type: ignore[no-untyped-def]
    fake = FakeIdentity(test_keys)
    server = grpc.aio.server()
    identity_pb2_grpc.add_AuthServicer_to_server(fake, server)
    identity_pb2_grpc.add_IdentityServicer_to_server(fake, server)
    port = server.add_insecure_port(f"127.0.0.1:{free_port()}")
    await server.start()
    yield fake, f"127.0.0.1:{port}"
    await server.stop(None)


@pytest.fixture
async def gateway():  # type: ignore[no-untyped-def]
    apps = []

    def make(identity_addr: str, nats_url: str):  # type: ignore[no-untyped-def]
        app = create_app(
            GatewaySettings(
                environment="test", identity_addr=identity_addr, nats_url=nats_url, shared_store_timeout_seconds=3
            )
        )
        apps.append(app)
        return test_client(app)

    yield make
    for app in apps:
        await app.close()  # before the test's nats-server stops


async def test_a_sensitive_read_is_on_the_bus_before_the_answer(
    identity,
    gateway,
    nats_url: str,  # type: ignore[no-untyped-def]
    test_keys: TestKeys,
) -> None:
    fake, address = identity
    client = gateway(address, nats_url)
    token = test_keys.token(principal("admin-1", "/c/", unit_id="c", permissions={"users:read": "all"}))
    reply = await asyncio.to_thread(
        client.get, "/v1/users?query=li", headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": "10.1.2.3"}
    )
    assert reply.status_code == 200, reply.get_json()
    assert fake.audited == []  # no synchronous call to identity on the read path
    nc = await connect(nats_url, "audit-reads-test")
    try:
        js = nc.jetstream()
        stored = await js.get_last_msg("SALESGRID_GATEWAY", "salesgrid.gateway.sensitive_reads.recorded")
        envelope = Envelope()
        envelope.ParseFromString(stored.data)
        batch = SensitiveReads()
        batch.ParseFromString(envelope.payload)
        [read] = batch.reads  # a lone read is published at once, alone
        assert (read.action, read.target_type) == ("users.list", "users") and "query=li" in read.detail
        # (X-Forwarded-For is not trusted from a peer that is no listed proxy: the peer's address)
        assert (read.actor_id, read.actor_ip, read.org_path) == ("admin-1", "127.0.0.1", "/c/")
        assert read.record_id and read.occurred_at.seconds > 0
        assert envelope.producer == "gateway" and envelope.event_id and envelope.actor_id == "system:gateway"
    finally:
        await nc.close()


async def test_a_read_whose_record_cannot_be_stored_is_refused(
    identity,
    gateway,
    nats_url: str,  # type: ignore[no-untyped-def]
    test_keys: TestKeys,
) -> None:
    fake, address = identity
    nc = await connect(nats_url, "audit-reads-test")
    try:
        # Another stream already holds the gateway's subjects: the gateway's stream cannot be
        # declared, so the record has nowhere to go.
        await nc.jetstream().add_stream(StreamConfig(name="SQUATTER", subjects=["salesgrid.gateway.>"]))
    finally:
        await nc.close()
    client = gateway(address, nats_url)
    token = test_keys.token(principal("admin-1", "/c/", unit_id="c", permissions={"users:read": "all"}))
    reply = await asyncio.to_thread(client.get, "/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 503 and reply.mimetype == "application/problem+json", reply.get_json()
    assert reply.get_json()["type"].endswith("/audit-unavailable") and fake.audited == []
