"""The webhooks service under test and what its tests share (imported by name: conftest.py puts
this folder on sys.path): the permissions of a partner and of an administrator, and one
subscription per owner."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from salesgrid.webhooks.v1 import webhooks_pb2 as pb
from salesgrid.webhooks.v1 import webhooks_pb2_grpc as pb_grpc
from salesgrid_common.auth.principal import Principal
from salesgrid_dev.testing import RunningService, TestKeys, bearer, run_service
from salesgrid_webhooks.app import DEFINITION, MIGRATIONS
from salesgrid_webhooks.settings import WebhooksSettings

PARTNER = {"webhooks:read": "own", "webhooks:create": "own", "customers:read": "subtree"}
ADMIN = {"webhooks:read": "all", "webhooks:create": "all", "webhooks:delete": "all", "customers:read": "all"}


def webhooks(
    database_url: str, nats_url: str, test_keys: TestKeys, **settings: Any
) -> AbstractAsyncContextManager[RunningService]:
    """The webhooks service, migrated and started; `settings` are its settings and run_service's
    options (allow_http_endpoints, poll_interval_seconds, clock, ...)."""
    return run_service(
        DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, settings_cls=WebhooksSettings, **settings
    )


async def subscribe(
    stub: pb_grpc.WebhooksStub, test_keys: TestKeys, owners: Mapping[str, Principal], event_types: Iterable[str]
) -> dict[str, str]:
    """Each owner subscribes, with its own token, to `event_types` at http://127.0.0.1:9/<name>
    (nothing listens there); returns each subscription's id -> the owner's name."""
    names = {}
    for name, who in owners.items():
        created = await stub.CreateSubscription(
            pb.CreateSubscriptionRequest(url=f"http://127.0.0.1:9/{name}", event_types=list(event_types)),
            metadata=bearer(test_keys.token(who)),
        )
        names[created.subscription.id] = name
    return names
