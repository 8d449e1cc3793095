"""The token verifier of a process (each service's and the gateway's): the JWKS key cache
(refetched, rate-limited, on an unknown key id) and the cache of tokens already verified."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.tokens import KeySet, UnknownKey, decode_token_expiry
from salesgrid_common.errors import DependencyUnavailable
from salesgrid_common.expiring import ExpiringMap


class VerifiedTokens:
    """Tokens already verified by this process, kept until they expire: a token's signature is
    checked once per process, not once per request. Expiry is checked again on every hit, so a
    cached token is never accepted later than its `exp`; the cache is bounded (`max_entries`),
    dropping expired entries first and then the oldest."""

    def __init__(self, max_entries: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        self._entries: ExpiringMap[str, Principal] = ExpiringMap(max_entries, clock)

    def get(self, token: str, client_ip: str) -> Principal | None:
        principal = self._entries.get(token)
        if principal is None:
            return None
        return principal if principal.client_ip == client_ip else replace(principal, client_ip=client_ip)

    def put(self, principal: Principal, expires: float) -> None:
        self._entries.put(principal.token, principal, expires)

    def __len__(self) -> int:
        return len(self._entries)


class AsyncTokenVerifier:
    """Verifies tokens (every service, and the gateway, each on its event loop): a token verified
    once is served from `verified` until it expires; an unknown key id refetches the JWKS
    (rate-limited: at most every `min_refresh_interval` seconds)."""

    def __init__(
        self,
        fetch_jwks: Callable[[], Awaitable[str]],
        *,
        issuer: str,
        audience: str,
        min_refresh_interval: float = 5.0,
        cache: VerifiedTokens | None = None,
    ) -> None:
        self.fetch_jwks = fetch_jwks
        self.issuer = issuer
        self.audience = audience
        self.min_refresh_interval = min_refresh_interval
        self.keys = KeySet()
        self._fetched_at = float("-inf")
        self.verified = cache if cache is not None else VerifiedTokens()

    async def verify(self, token: str, client_ip: str = "") -> Principal:
        cached = self.verified.get(token, client_ip)
        if cached is not None:
            return cached
        try:
            return self._decode(token, client_ip)
        except UnknownKey:
            if time.monotonic() - self._fetched_at < self.min_refresh_interval:
                raise
        try:
            document = await self.fetch_jwks()
        except Exception:
            document = ""
        try:
            self.keys = KeySet.from_jwks(document)
        except Exception:
            # Fail closed, but as the outage it is (identity unreachable: 503, retry), not as the
            # caller's fault.
            raise DependencyUnavailable("signing keys are unavailable; retry later") from None
        finally:
            self._fetched_at = time.monotonic()
        return self._decode(token, client_ip)

    def _decode(self, token: str, client_ip: str) -> Principal:
        principal, expires = decode_token_expiry(
            token, self.keys, issuer=self.issuer, audience=self.audience, client_ip=client_ip
        )
        self.verified.put(principal, expires)
        return principal
