"""The activities REST routes through the real gateway app (Flask test client) to the running service:
JSON in and out, problem+json with the field named, and the OpenAPI description."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from salesgrid_activities.app import DEFINITION, MIGRATIONS
from salesgrid_common.clock import FakeClock
from salesgrid_dev.testing import principal, run_service, stand_in_identity
from salesgrid_dev.gateway_client import test_client
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
PERMS = {
    "activities:read": "own",
    "activities:create": "own",
    "tasks:read": "own",
    "tasks:create": "own",
    "tasks:update": "own",
}


async def test_rest_routes(database_url: str, nats_url: str, test_keys) -> None:
    async with stand_in_identity(test_keys) as identity_addr:
        async with run_service(
            DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=FakeClock(NOW)
        ) as running:
            app = create_app(
                GatewaySettings(environment="test", identity_addr=identity_addr, activities_addr=running.address)
            )
            client = test_client(app)
            headers = {"Authorization": f"Bearer {test_keys.token(principal('rep-a', '/c/t1/', permissions=PERMS))}"}

            def post(path: str, body: dict):  # type: ignore[no-untyped-def]
                return asyncio.to_thread(client.post, path, json=body, headers=headers)

            reading = {"latitude": 31.23, "longitude": 121.47, "accuracy_m": 12, "device_time": "2026-03-10T01:55:00Z"}
            created = await post("/v1/check-ins", {"customer_id": "cust-1", "reading": reading})
            assert created.status_code == 201, created.get_json()
            visit = created.get_json()
            assert visit["flagged"] and visit["check_in"]["flags"] == ["no_reference"]
            closed = await post(
                f"/v1/check-ins/{visit['id']}/check-out", {"reading": reading | {"device_time": "2026-03-10T01:58:00Z"}}
            )
            assert closed.status_code == 200 and closed.get_json()["duration_seconds"] == 180

            bad = await post("/v1/check-ins", {"customer_id": "cust-1", "reading": reading | {"latitude": 91}})
            assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
            assert [e["field"] for e in bad.get_json()["errors"]] == ["latitude"]

            task = await post("/v1/tasks", {"title": "send the quote", "due_at": "2026-03-11T10:00:00Z"})
            assert task.status_code == 201 and task.get_json()["status"] == "accepted"
            done = await post(f"/v1/tasks/{task.get_json()['id']}/complete", {})
            assert done.get_json()["status"] == "completed"
            mine = await asyncio.to_thread(
                client.get, "/v1/calendar?from=2026-03-10T00:00:00Z&to=2026-03-12T00:00:00Z", headers=headers
            )
            assert [e["task_id"] for e in mine.get_json()["items"]] == [task.get_json()["id"]]
            bad = await asyncio.to_thread(
                client.get, "/v1/calendar?from=yesterday&to=2026-03-12T00:00:00Z", headers=headers
            )
            assert bad.status_code == 400 and bad.mimetype == "application/problem+json"

            followed = await post(
                "/v1/follow-ups",
                {
                    "kind": "visit",
                    "occurred_at": "2026-03-10T01:00:00Z",
                    "notes": "met the buyer",
                    "customer_id": "cust-1",
                },
            )
            assert followed.status_code == 201
            listed = await asyncio.to_thread(client.get, "/v1/follow-ups?customer_id=cust-1", headers=headers)
            assert [f["notes"] for f in listed.get_json()["items"]] == ["met the buyer"]

            paths = (await asyncio.to_thread(client.get, "/openapi.json")).get_json()["paths"]
            for path in (
                "/v1/follow-ups",
                "/v1/check-ins/{visit_id}/check-out",
                "/v1/tasks/{task_id}/reject",
                "/v1/daily-reports/{report_id}/falsify",
                "/v1/daily-report-compliance",
                "/v1/policy-ledger",
                "/v1/unit-policies/{unit_id}",
                "/v1/calendar",
                "/v1/daily-reports/{report_id}/comments",
            ):
                assert path in paths, path
