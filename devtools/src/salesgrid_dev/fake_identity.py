"""A stand-in identity service for REST tests of one service through the real gateway app: it
serves the test keys' JWKS and remembers the audit records the gateway sends."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc

from salesgrid.identity.v1 import identity_pb2, identity_pb2_grpc
from salesgrid_dev.processes import free_port
from salesgrid_dev.testing import TestKeys


class FakeIdentity(identity_pb2_grpc.AuthServicer, identity_pb2_grpc.IdentityServicer):
    def __init__(self, keys: TestKeys) -> None:
        self.jwks = keys.jwks()
        self.audited: list[identity_pb2.RecordAuditRequest] = []
        self.address = ""

    async def GetJwks(self, request, context):  # type: ignore[no-untyped-def]
        return identity_pb2.Jwks(json=self.jwks)

    async def RecordAudit(self, request, context):  # type: ignore[no-untyped-def]
        self.audited.append(request)
        return identity_pb2.RecordAuditResponse(id="a-1")


@asynccontextmanager
async def fake_identity(keys: TestKeys) -> AsyncIterator[FakeIdentity]:
    """The fake served on a free local port (``.address``) for the duration of the block."""
    fake = FakeIdentity(keys)
    server = grpc.aio.server()
    identity_pb2_grpc.add_AuthServicer_to_server(fake, server)
    identity_pb2_grpc.add_IdentityServicer_to_server(fake, server)
    fake.address = f"127.0.0.1:{server.add_insecure_port(f'127.0.0.1:{free_port()}')}"
    await server.start()
    try:
        yield fake
    finally:
        await server.stop(None)
