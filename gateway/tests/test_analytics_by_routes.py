"""Each analytics report operation declares the `by` values (its dimension) it accepts, from the one
declaration analytics applies (salesgrid_common.analytics_reports): an enum on its `by` parameter,
no `by` parameter where the report has none, and any other value refused by the gateway with 400
problem+json naming `by` and the values allowed. No analytics service is configured: the refusals
happen in the gateway, before any call (the accepted values reaching the service are in
test_analytics_routes)."""

from __future__ import annotations

import asyncio
from typing import Any

from salesgrid_common.analytics_reports import REPORT_BY, accepted_by
from salesgrid_dev.testing import TestKeys, principal, stand_in_identity
from salesgrid_dev.gateway_client import test_client

from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings

# each report operation of the gateway -> the analytics report it is
REPORTS = {
    "funnel": "funnel",
    "performance": "performance",
    "leaderboard": "leaderboard",
    "forecast": "forecast",
    "dashboard": "dashboard",
    "compliance": "compliance",
    "trend": "trend",
    "cost-of-sale": "cost_of_sale",
    "channels": "channels",
}
PERMS = {"analytics:read": "subtree", "analytics:export": "subtree"}


def _document() -> dict[str, Any]:
    app = create_app(GatewaySettings(environment="test", identity_addr="127.0.0.1:1", log_level="WARNING"))
    return test_client(app).get("/openapi.json").get_json()  # type: ignore[no-any-return]


def test_each_report_operation_declares_its_by_values() -> None:
    paths = _document()["paths"]
    assert {p.removeprefix("/v1/analytics/") for p in paths if p.startswith("/v1/analytics/")} >= set(REPORTS)
    declared = {}
    for path, report in REPORTS.items():
        by = [p for p in paths[f"/v1/analytics/{path}"]["get"]["parameters"] if p["name"] == "by"]
        declared[report] = tuple(by[0]["schema"]["enum"]) if by else ()
        assert not by or by[0]["schema"]["type"] == "string"
    assert declared == {report: accepted_by(report) for report in REPORTS.values()}
    assert (
        {report for report, values in declared.items() if values}
        == set(REPORT_BY)
        == {
            "leaderboard",
            "cost_of_sale",
            "channels",
        }
    )
    assert declared["channels"] == ("channel", "partner")
    assert "contract_amount" in declared["leaderboard"] and "collections" in declared["leaderboard"]


async def test_an_unknown_by_is_refused_naming_the_allowed_values(test_keys: TestKeys) -> None:
    async with stand_in_identity(test_keys) as identity_addr:
        client = test_client(
            create_app(GatewaySettings(environment="test", identity_addr=identity_addr, analytics_addr="127.0.0.1:1"))
        )
        token = test_keys.token(principal("m-1", "/c/r1/", unit_id="r1", permissions=PERMS))
        headers = {"Authorization": f"Bearer {token}"}

        def scenario() -> None:
            for path, report in REPORTS.items():
                allowed = accepted_by(report)
                for value in ("planet", "", "rep" if not allowed else allowed[0].upper()):
                    reply = client.get(f"/v1/analytics/{path}?period=2026&metric=visits&by={value}", headers=headers)
                    assert reply.status_code == 400 and reply.mimetype == "application/problem+json", (path, value)
                    errors = reply.get_json()["errors"]
                    assert [e["field"] for e in errors] == ["by"], (path, value)
                    if allowed:
                        assert errors[0]["message"] == f"must be one of {', '.join(allowed)}"
                    else:
                        assert errors[0]["message"] == "is not a parameter of this operation"
            # the report download: the same values per report
            for report, value in (("leaderboard", "profit"), ("channels", "rep"), ("performance", "rep")):
                reply = client.get(f"/v1/exports?report={report}&period=2026&by={value}", headers=headers)
                assert reply.status_code == 400 and [e["field"] for e in reply.get_json()["errors"]] == ["by"]

        await asyncio.to_thread(scenario)
