"""The inbox routes through the gateway to the activities service: a notice listed, counted, read,
all marked read; bad filters are 400 naming the parameter."""

from __future__ import annotations

import asyncio

from salesgrid.events.v1.contracts_events_pb2 import ContractsInstalmentOverdue
from salesgrid_activities.app import DEFINITION, MIGRATIONS
from salesgrid_common.clock import FakeClock
from salesgrid_dev.testing import principal, run_service, stand_in_identity
from salesgrid_dev.gateway_client import test_client
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings

from test_activities_inbox import READ, START, TEAM, deliver, people


async def test_inbox_routes_through_the_gateway(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    async with (
        stand_in_identity(test_keys) as identity_addr,
        run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=FakeClock(START)) as running,
    ):
        await people(running)
        await deliver(
            running,
            "salesgrid.contracts.instalment.overdue",
            ContractsInstalmentOverdue(
                contract_id="ctr-1",
                number="HT-001",
                owner_id="rep-a",
                seq=1,
                due_date="2026-03-09",
                outstanding="100.00",
                currency="CNY",
            ),
            START,
        )
        client = test_client(
            create_app(
                GatewaySettings(environment="test", identity_addr=identity_addr, activities_addr=running.address)
            )
        )
        headers = {"Authorization": f"Bearer {test_keys.token(principal('rep-a', TEAM, permissions=READ))}"}

        def get(path: str):  # type: ignore[no-untyped-def]
            return asyncio.to_thread(client.get, path, headers=headers)

        listed = (await get("/v1/inbox?unread=true")).get_json()
        assert [(i["kind"], i["record"]) for i in listed["items"]] == [
            ("instalment_overdue", {"type": "contract", "id": "ctr-1"})
        ] and listed["next_cursor"] is None
        assert (await get("/v1/inbox/unread-count")).get_json()["unread"] == 1
        read = await asyncio.to_thread(client.post, f"/v1/inbox/{listed['items'][0]['id']}/read", headers=headers)
        assert read.status_code == 200 and read.get_json()["read"] is True
        assert (await get("/v1/inbox/unread-count")).get_json()["unread"] == 0
        marked = await asyncio.to_thread(client.post, "/v1/inbox/read-all", headers=headers)
        assert marked.get_json()["marked"] == 0
        bad = await get("/v1/inbox?kind=gossip")
        assert bad.status_code == 400 and bad.get_json()["errors"][0]["field"] == "kind"
        bad = await get("/v1/inbox?unread=maybe")
        assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
        missing = await asyncio.to_thread(client.post, "/v1/inbox/nope/read", headers=headers)
        assert missing.status_code == 404
        paths = (await get("/openapi.json")).get_json()["paths"]
        assert {"/v1/inbox", "/v1/inbox/unread-count", "/v1/inbox/{item_id}/read", "/v1/inbox/read-all"} <= set(paths)
