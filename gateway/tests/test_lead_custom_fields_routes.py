"""Custom fields on leads and opportunities through the gateway (REST)."""

from __future__ import annotations

import asyncio


from salesgrid_common.clock import FakeClock
from salesgrid_dev.api import poll
from salesgrid_dev.testing import principal, run_service, stand_in_identity
from salesgrid_dev.gateway_client import test_client
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings
from salesgrid_pipeline.app import DEFINITION, MIGRATIONS
from salesgrid_pipeline.settings import PipelineSettings
from pipeline_fixtures import (  # noqa: F401 - fixtures
    REP_PERMS,
    START,
    customers_service,
    expect_error,
    money,
    new_customer,
    services_model,
)

from test_pipeline_custom_fields import ADMIN, PERMS


async def test_custom_fields_through_the_gateway(
    database_url: str, nats_url: str, test_keys, customers_service
) -> None:  # noqa: F811
    async with (
        stand_in_identity(test_keys) as identity_addr,
        run_service(
            DEFINITION,
            MIGRATIONS,
            database_url,
            nats_url,
            test_keys,
            clock=FakeClock(START),
            settings_cls=PipelineSettings,
            customers_addr=customers_service.address,
            import_seconds=0.1,
        ) as running,
    ):
        client = test_client(
            create_app(
                GatewaySettings(
                    environment="test",
                    identity_addr=identity_addr,
                    pipeline_addr=running.address,
                    customers_addr=customers_service.address,
                )
            )
        )
        rep = {"Authorization": f"Bearer {test_keys.token(principal('rep-1', '/c/r1/t1/', permissions=PERMS))}"}
        admin = {"Authorization": f"Bearer {test_keys.token(principal('dir-1', '/c/', permissions=ADMIN))}"}

        def scenario() -> None:
            for entity, body in (
                ("leads", {"key": "channel", "label": "Channel", "type": "choice", "options": ["fair", "web"]}),
                ("opportunities", {"key": "seats", "label": "Seats", "type": "number"}),
            ):
                assert client.post(f"/v1/custom-fields/{entity}", json=body, headers=admin).status_code == 201
            ahead = client.post(
                "/v1/custom-fields/opportunities",
                headers=admin,
                json={"key": "x", "label": "X", "type": "text", "business_lines": ["no-such-line"], "required": True},
            )
            assert ahead.status_code == 201  # business lines are stage model codes, free to name ahead of time
            csv_body = "company_name,cf_channel\n甲公司,web\n乙公司,tv\n丙公司,\n"
            started = client.post(
                "/v1/leads/imports", data=csv_body.encode(), headers={**rep, "Content-Type": "text/csv"}
            )
            assert started.status_code == 202, started.get_json()
            location = started.headers["Location"]
            imported = poll(lambda: (job := client.get(location, headers=rep).get_json())["status"] == "done" and job)
            assert imported["created"] == 2
            assert [(e["row"], e["column"]) for e in imported["errors"]] == [(2, "cf_channel")]
            listed = client.get("/v1/leads?cf_channel=web", headers=rep).get_json()["items"]
            assert [lead["company_name"] for lead in listed] == ["甲公司"]
            assert listed[0]["custom_fields"] == {"channel": "web"}
            patched = client.patch(
                f"/v1/leads/{listed[0]['id']}/custom-fields",
                json={"custom_fields": {"channel": "fair"}},
                headers={**rep, "If-Match": f'"{listed[0]["version"]}"'},
            )
            assert patched.status_code == 200, patched.get_json()
            assert patched.get_json()["custom_fields"] == {"channel": "fair"}
            assert (
                client.patch(
                    f"/v1/leads/{listed[0]['id']}/custom-fields",
                    json={"custom_fields": {}},
                    headers={**rep, "If-Match": '"1"'},
                ).status_code
                == 400
            )
            assert client.get("/v1/opportunities?cf_seats=abc", headers=rep).status_code == 400
            fields = client.get("/v1/custom-fields/opportunities", headers=rep).get_json()["items"]
            assert [(f["key"], f["required"], f["business_lines"]) for f in fields] == [
                ("seats", False, []),
                ("x", True, ["no-such-line"]),
            ]

        await asyncio.to_thread(scenario)
