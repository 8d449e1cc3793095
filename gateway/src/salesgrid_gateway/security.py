"""Authentication of callers (bearer JWT or partner API key) and client addresses
(rate limits: ratelimit.py)."""

from __future__ import annotations

import hashlib
import time

from salesgrid.identity.v1 import identity_pb2, identity_pb2_grpc
from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.verifiers import AsyncTokenVerifier
from salesgrid_common.errors import DomainError
from salesgrid_common.expiring import ExpiringMap
from salesgrid_gateway.problems import from_domain
from salesgrid_gateway.web import Request


def client_ip(request: Request, trusted_header: str) -> str:
    if trusted_header:
        value = request.headers.get(trusted_header, "")
        if value:
            return value.split(",")[0].strip()  # the left-most address is the original client
    return request.remote_addr or ""


def credentials(request: Request) -> tuple[str, str] | None:
    """("jwt" | "api_key", secret) from Authorization or X-API-Key."""
    api_key = request.headers.get("X-API-Key", "").strip()
    if api_key:
        return "api_key", api_key
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        return None
    return ("api_key", value) if value.startswith("sg_") else ("jwt", value)


MAX_CACHED_KEYS = 10_000  # (key, client address) pairs per worker


class ApiKeyExchange:
    """API keys are exchanged at identity for a short-lived token carrying the key's own
    permissions and subtree, cached for most of its lifetime (revocation bites within a minute),
    with the key's own rate limit (0: the default for partner keys)."""

    def __init__(self, max_cache_seconds: float = 60.0) -> None:
        self.max_cache_seconds = max_cache_seconds
        self._cache: ExpiringMap[str, tuple[str, int]] = ExpiringMap(MAX_CACHED_KEYS, time.monotonic)

    async def token_for(
        self, key: str, client_ip: str, auth_stub: identity_pb2_grpc.AuthStub, timeout: float
    ) -> tuple[str, int]:
        cache_key = hashlib.sha256(f"{key}|{client_ip}".encode()).hexdigest()
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        pair = await auth_stub.AuthenticateApiKey(
            identity_pb2.AuthenticateApiKeyRequest(api_key=key, client_ip=client_ip), timeout=timeout
        )
        lifetime = min(self.max_cache_seconds, pair.expires_in / 2)
        self._cache.put(cache_key, (pair.access_token, pair.rate_limit_per_minute), time.monotonic() + lifetime)
        return pair.access_token, pair.rate_limit_per_minute


async def verify_jwt(verifier: AsyncTokenVerifier, token: str, ip: str) -> Principal:
    try:
        return await verifier.verify(token, ip)
    except DomainError as error:
        raise from_domain(error) from None
