"""The analytics REST routes through the real gateway app to the running service: targets as
JSON with decimal strings, problem+json for bad input, exports downloaded and audited."""

from __future__ import annotations

import asyncio


from salesgrid_analytics.app import DEFINITION, MIGRATIONS
from salesgrid_common.analytics_reports import accepted_by
from salesgrid_dev.testing import TestKeys, principal, run_service, stand_in_identity
from salesgrid_dev.gateway_client import test_client
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings

PERMS = {
    "analytics:read": "subtree",
    "analytics:export": "subtree",
    "targets:read": "subtree",
    "targets:update": "subtree",
}


async def test_analytics_rest_routes(database_url: str, nats_url: str, test_keys: TestKeys) -> None:
    audited: list = []  # type: ignore[type-arg]
    async with stand_in_identity(test_keys, audited) as identity_addr:
        async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys) as running:
            client = test_client(
                create_app(
                    GatewaySettings(environment="test", identity_addr=identity_addr, analytics_addr=running.address)
                )
            )
            token = test_keys.token(principal("m-1", "/c/r1/", unit_id="r1", permissions=PERMS))
            headers = {"Authorization": f"Bearer {token}"}

            def send(method: str, path: str, body: dict | None = None):  # type: ignore[no-untyped-def]
                return asyncio.to_thread(getattr(client, method), path, json=body, headers=headers)

            month = {"metric": "visits", "org_path": "/c/r1/", "amount": "10"}
            saved = await send(
                "post",
                "/v1/targets",
                {
                    "parent": {"metric": "visits", "period": "2026-Q1", "org_path": "/c/r1/", "amount": "30"},
                    "children": [month | {"period": p} for p in ("2026-01", "2026-02", "2026-03")],
                },
            )
            assert saved.status_code == 200, saved.get_json()
            assert saved.get_json()["difference"] == "0"
            short = await send(
                "post",
                "/v1/targets",
                {
                    "parent": {"metric": "visits", "period": "2026-Q1", "org_path": "/c/r1/", "amount": "31"},
                    "children": [month | {"period": p} for p in ("2026-01", "2026-02", "2026-03")],
                },
            )
            assert short.status_code == 400 and short.mimetype == "application/problem+json"
            assert [e["field"] for e in short.get_json()["errors"]] == ["children"]
            negative = await send("post", "/v1/targets", {"parent": month | {"period": "2026", "amount": "-5"}})
            assert [e["field"] for e in negative.get_json()["errors"]] == ["parent.amount"]
            # channel performance (its own route module): a bad grouping is named
            channels = await send("get", "/v1/analytics/channels?period=2026-03&by=planet")
            assert channels.status_code == 400 and [e["field"] for e in channels.get_json()["errors"]] == ["by"]
            by_partner = await send("get", "/v1/analytics/channels?period=2026-03&by=partner")
            assert (by_partner.status_code, by_partner.get_json()["by"], by_partner.get_json().get("lines", [])) == (
                200,
                "partner",
                [],
            )

            # every `by` the document declares for a report is one the service accepts
            for path, report in (
                ("leaderboard", "leaderboard"),
                ("cost-of-sale", "cost_of_sale"),
                ("channels", "channels"),
            ):
                for by in accepted_by(report):
                    reply = await send("get", f"/v1/analytics/{path}?period=2026-03&by={by}")
                    assert reply.status_code == 200, (path, by, reply.get_json())

            listed = (await send("get", "/v1/targets?period=2026-Q1")).get_json()
            assert [(t["period"], t["amount"], t["actual"]) for t in listed["targets"]] == [("2026-Q1", "30", "0")]

            for path in ("funnel", "performance", "leaderboard", "forecast", "dashboard", "compliance"):
                reply = await send("get", f"/v1/analytics/{path}?period=2026-Q1&currency=CNY")
                assert reply.status_code == 200, (path, reply.get_json())
            for path in ("funnel", "performance", "compliance"):
                ranged = await send("get", f"/v1/analytics/{path}?from=2026-01&to=2026-Q2")
                assert ranged.status_code == 200 and ranged.get_json()["period"] == "2026-01..2026-06", path
                backwards = await send("get", f"/v1/analytics/{path}?from=2026-05&to=2026-04")
                assert backwards.status_code == 400 and backwards.mimetype == "application/problem+json"
                assert [e["field"] for e in backwards.get_json()["errors"]] == ["to"], backwards.get_json()
                assert "ends before it starts" in backwards.get_json()["errors"][0]["message"]
            trend = (await send("get", "/v1/analytics/trend?period=2026-Q1&metric=visits")).get_json()
            assert [(p["period"], p["value"]) for p in trend["points"]] == [
                ("2026-01", "0"),
                ("2026-02", "0"),
                ("2026-03", "0"),
            ]
            unknown = await send("get", "/v1/analytics/trend?period=2026&metric=calls")
            assert unknown.status_code == 400 and [e["field"] for e in unknown.get_json()["errors"]] == ["metric"]
            ended = await send("get", "/v1/analytics/performance?period=2026-Q1&group_depth=x")
            assert ended.status_code == 400
            outside = await send("get", "/v1/analytics/funnel?period=2026&subtree=/c/r2/")
            assert outside.status_code == 403 and "/c/r2" in outside.get_json()["detail"]

            download = await send("get", "/v1/exports?report=targets&format=csv&period=2026-Q1")
            assert download.status_code == 200 and download.mimetype == "text/csv"
            assert download.data.decode("utf-8-sig").splitlines()[1].startswith("visits,2026-Q1,/c/r1/,,30")
            assert [a.action for a in audited] == ["analytics.export"]

            paths = (await asyncio.to_thread(client.get, "/openapi.json")).get_json()["paths"]
            for path in (
                "/v1/targets",
                "/v1/analytics/funnel",
                "/v1/analytics/performance",
                "/v1/analytics/leaderboard",
                "/v1/analytics/forecast",
                "/v1/analytics/dashboard",
                "/v1/analytics/compliance",
                "/v1/analytics/trend",
                "/v1/exports",
            ):
                assert path in paths, path
