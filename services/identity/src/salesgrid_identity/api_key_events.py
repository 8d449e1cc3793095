"""The payload of the API key's events, built from the domain ApiKey in this one place."""

from __future__ import annotations

from salesgrid.events.v1.identity_events_pb2 import ApiKeyRevoked
from salesgrid_identity.domain.api_keys import ApiKey


def api_key_revoked(key: ApiKey) -> ApiKeyRevoked:
    """The key as its `revoked` event carries it (webhooks stop the key's subscriptions)."""
    return ApiKeyRevoked(api_key_id=key.id, unit_id=key.unit_id)
