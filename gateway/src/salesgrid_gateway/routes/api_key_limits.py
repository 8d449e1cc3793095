"""PUT /v1/api-keys/{key_id}/rate-limit: an administrator changes a live partner key's own rate
limit (identity; api_keys:create over the key's unit), without issuing the partner a new key."""

from __future__ import annotations

from salesgrid.identity.v1 import identity_pb2 as pb
from salesgrid_gateway.rest.table import Service

api = Service(pb, "Identity", "identity_addr", tag="identity")

ROUTES = [
    api.put(
        "/v1/api-keys/{key_id}/rate-limit",
        "SetApiKeyRateLimit",
        "Set a partner key's own rate limit per minute (0: the gateway's default for keys); gateways "
        "apply it within a minute (their cached token exchange of the key)",
    ),
]
