"""The typed partner client, generated from the gateway's OpenAPI document by
openapi-python-client (tools/genclient.py), against the real platform: typed writes with an
Idempotency-Key, the incremental customer sync of clients/python/examples (updated_since and
cursors), and webhooks consumed by the example's receiver triggering a sync."""

from __future__ import annotations

import importlib
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from salesgrid_dev.api import person, poll, root_unit
from salesgrid_dev.platform import Platform

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def client_modules(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ModuleType]]:
    sys.path.insert(0, str(ROOT / "tools"))
    genclient = importlib.import_module("genclient")
    out = tmp_path_factory.mktemp("client")
    genclient.generate(out)
    sys.path[:0] = [str(out), str(ROOT / "clients" / "python" / "examples")]
    try:
        yield {
            name: importlib.import_module(name)
            for name in (
                "salesgrid_client",
                "salesgrid_client.api.customers.post_v1_customers",
                "salesgrid_client.api.customers.patch_v1_customers_customer_id",
                "salesgrid_client.api.webhooks.post_v1_webhooks",
                "salesgrid_client.models",
                "sync_customers",
            )
        }
    finally:
        for path in (str(out), str(ROOT / "clients" / "python" / "examples"), str(ROOT / "tools")):
            sys.path.remove(path)


def test_generated_client_syncs_customers_incrementally_and_consumes_webhooks(
    platform: Platform, api: httpx.Client, admin_token: str, client_modules: dict[str, ModuleType]
) -> None:
    sc, models, example = (
        client_modules["salesgrid_client"],
        client_modules["salesgrid_client.models"],
        client_modules["sync_customers"],
    )
    create = client_modules["salesgrid_client.api.customers.post_v1_customers"]
    patch = client_modules["salesgrid_client.api.customers.patch_v1_customers_customer_id"]
    subscribe = client_modules["salesgrid_client.api.webhooks.post_v1_webhooks"]
    suffix = uuid.uuid4().hex[:8]
    _, rep_token = person(api, admin_token, root_unit(api, admin_token)["id"], f"client.{suffix}", "rep")
    rep = sc.AuthenticatedClient(base_url=platform.gateway_url, token=rep_token)
    admin = sc.AuthenticatedClient(base_url=platform.gateway_url, token=admin_token)

    ids = []
    for i in range(5):
        body = models.PostV1CustomersBody(legal_name=f"Client {suffix} Nr {i} Ltd")
        made = create.sync_detailed(client=rep, body=body, idempotency_key=f"c-{suffix}-{i}")
        assert made.status_code == 201, made.content
        again = create.sync_detailed(client=rep, body=body, idempotency_key=f"c-{suffix}-{i}")
        assert again.parsed.id == made.parsed.id and again.headers["Idempotent-Replayed"] == "true"
        ids.append(made.parsed.id)

    state = example.SyncState()
    assert sorted(example.sync_customers(rep, state, page_size=2)) == sorted(ids)  # three pages
    assert state.watermark and set(state.customers) == set(ids)

    # The admin subscribes; the example's receiver verifies each delivery and syncs at once.
    events: list[dict[str, Any]] = []
    synced: dict[str, list[str]] = {}
    receiver: Any = None

    def on_event(event: dict[str, Any]) -> None:
        events.append(event)
        synced[event["data"]["id"]] = example.sync_customers(rep, state, overlap=example.timedelta(0))

    created = subscribe.sync(
        client=admin,
        body=models.PostV1WebhooksBody(
            url="http://127.0.0.1:1/placeholder", event_types=["salesgrid.customers.customer.updated"]
        ),
    )
    receiver = example.WebhookReceiver(created.secret, on_event)
    try:
        from salesgrid_client.api.webhooks import patch_v1_webhooks_subscription_id as update_hook

        update_hook.sync(
            client=admin, subscription_id=created.id, body=models.PatchV1WebhooksSubscriptionIdBody(url=receiver.url)
        )
        changed = patch.sync_detailed(
            client=rep,
            customer_id=ids[2],
            body=models.PatchV1CustomersCustomerIdBody(legal_name=f"Client {suffix} Renamed Ltd"),
            if_match='"1"',  # required by the document where the route requires a version
        )
        assert changed.status_code == 200, changed.content
        fetched = poll(lambda: synced.get(ids[2]), timeout=30)
        assert ids[2] in fetched and len(fetched) <= 2  # only what changed (and the inclusive edge)
        assert state.customers[ids[2]]["legal_name"] == f"Client {suffix} Renamed Ltd"
    finally:
        receiver.close()
