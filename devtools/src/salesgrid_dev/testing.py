"""Test helpers: run a real service in-process (gRPC on a free port, its own database, a real
nats-server) and mint tokens with a test signing key that the service verifies as usual."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import grpc
from salesgrid.events.v1.customers_events_pb2 import CustomerMerged
from sqlalchemy import func, select
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.tokens import access_claims, sign_token
from salesgrid_common.scopes import Scope
from salesgrid_common.clock import Clock, utc_now
from salesgrid_common.events.bus import connect, ensure_stream
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_common.events.tables import inbox
from salesgrid_common.ids import new_id
from salesgrid_dev.migrated import migrate
from salesgrid_common.service import ServiceApp, ServiceDefinition
from salesgrid_common.settings import ServiceSettings

from salesgrid_dev.processes import free_port

ISSUER = "salesgrid-identity"
AUDIENCE = "salesgrid"


class TestKeys:
    """An Ed25519 key pair standing in for identity's signing key."""

    __test__ = False  # not a pytest test class

    def __init__(self, kid: str = "test-1") -> None:
        self.kid = kid
        self.private_key = Ed25519PrivateKey.generate()

    def jwks(self) -> str:
        jwk = json.loads(OKPAlgorithm.to_jwk(self.private_key.public_key()))
        return json.dumps({"keys": [{**jwk, "kid": self.kid, "alg": "EdDSA", "use": "sig"}]})

    def token(self, principal: Principal, ttl: int = 300, **overrides: Any) -> str:
        claims = access_claims(principal, issuer=ISSUER, audience=AUDIENCE, ttl_seconds=ttl, token_id=new_id())
        claims.update(overrides)
        return sign_token(claims, self.private_key, self.kid)


def principal(
    user_id: str | None = None,
    org_path: str = "/c/",
    unit_id: str = "c",
    permissions: Mapping[str, str] | None = None,
    kind: str = "user",
    roles: tuple[str, ...] = (),
    responsible_id: str = "",
    key_expires_at: float = 0.0,
) -> Principal:
    return Principal(
        subject_id=user_id or new_id(),
        kind=kind,
        unit_id=unit_id,
        org_path=org_path,
        permissions={k: Scope.parse(v) for k, v in (permissions or {}).items()},
        roles=roles,
        responsible_id=responsible_id,
        key_expires_at=key_expires_at,
    )


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


@dataclasses.dataclass
class RunningService:
    app: ServiceApp
    channel: grpc.aio.Channel
    address: str
    settings: ServiceSettings


@contextlib.asynccontextmanager
async def run_service(
    definition: ServiceDefinition,
    migrations_dir: Any,
    database_url: str,
    nats_url: str,
    keys: TestKeys,
    *,
    settings_cls: type[ServiceSettings] = ServiceSettings,
    clock: Clock = utc_now,
    trust_test_keys: bool = True,
    **settings_overrides: Any,
) -> AsyncIterator[RunningService]:
    """Migrate, start and yield a service; with `trust_test_keys` it verifies tokens minted by
    `keys` instead of fetching identity's JWKS (identity itself always uses its own keys)."""
    await asyncio.to_thread(migrate, migrations_dir, database_url)
    port = free_port()
    settings = settings_cls(
        **{
            "environment": "test",
            "service_name": definition.name,
            "database_url": database_url,
            "nats_url": nats_url,
            "grpc_port": port,
            "grpc_host": "127.0.0.1",
            "identity_addr": "127.0.0.1:1",
            "metrics_port": 0,
            "shutdown_grace_seconds": 1.0,
            **settings_overrides,
        }
    )

    def test_jwks(_ctx: Any) -> Any:
        async def fetch() -> str:
            return keys.jwks()

        return fetch

    if trust_test_keys:
        definition = dataclasses.replace(definition, jwks=test_jwks)
    app = ServiceApp(definition, settings, clock=clock, health_interval=0.5)
    await app.start()
    address = f"127.0.0.1:{app.port}"
    channel = grpc.aio.insecure_channel(address)
    try:
        yield RunningService(app, channel, address, settings)
    finally:
        await channel.close()
        await app.stop()


async def eventually(check: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll an async check until it returns a truthy value (for asynchronous event delivery)."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last result: {last!r})")


def field_violations(error: grpc.aio.AioRpcError) -> list[str]:
    """The field names of the BadRequest violations a service attached to an error."""
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    status = rpc_status.from_call(error)
    fields: list[str] = []
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields.extend(v.field for v in bad.field_violations)
    return fields


@contextlib.asynccontextmanager
async def stand_in_identity(keys: TestKeys, audit_log: list[Any] | None = None) -> AsyncIterator[str]:
    """A gRPC server standing in for identity in gateway tests that run a single service: it
    serves the test JWKS and accepts the audit entries the gateway reports (appended to
    `audit_log` when given). Yields its address for GatewaySettings.identity_addr."""
    from salesgrid.identity.v1 import identity_pb2, identity_pb2_grpc

    class JwksOnly(identity_pb2_grpc.AuthServicer):
        async def GetJwks(self, request: Any, context: Any) -> Any:
            return identity_pb2.Jwks(json=keys.jwks())

    class AuditOnly(identity_pb2_grpc.IdentityServicer):
        async def RecordAudit(self, request: Any, context: Any) -> Any:
            if audit_log is not None:
                audit_log.append(request)
            return identity_pb2.RecordAuditResponse(id=new_id())

    server = grpc.aio.server()
    identity_pb2_grpc.add_AuthServicer_to_server(JwksOnly(), server)
    identity_pb2_grpc.add_IdentityServicer_to_server(AuditOnly(), server)
    port = server.add_insecure_port(f"127.0.0.1:{free_port()}")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(0)


async def publish_customer_merge(
    nats_url: str, survivor_id: str, merged_ids: list[str], when: datetime | None = None
) -> str:
    """Customers' `merged` event as the customers service sends it (a fresh event id each call, so
    a second call tests the consumer's own idempotency, not the inbox); returns the event id."""
    nc = await connect(nats_url, "test-customers")
    try:
        js = nc.jetstream()
        await ensure_stream(js, "customers", 1)
        envelope = build_envelope(
            "salesgrid.customers.customer.merged",
            "customers",
            CustomerMerged(survivor_id=survivor_id, merged_ids=merged_ids),
            EventMeta(aggregate_id=survivor_id, org_path="/"),
            when or utc_now(),
        )
        await js.publish(envelope.type, envelope.SerializeToString(), headers={"Nats-Msg-Id": envelope.event_id})
        return envelope.event_id
    finally:
        await nc.drain()


async def consumer_applied(running: RunningService, consumer: str) -> int:
    """How many events the service's consumer `consumer` has applied (its inbox rows)."""
    async with running.app.ctx.sessions() as session:
        return await session.scalar(select(func.count()).select_from(inbox).where(inbox.c.consumer == consumer)) or 0
