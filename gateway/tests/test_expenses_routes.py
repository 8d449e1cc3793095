"""The expenses REST routes through the real gateway app (Flask test client) to the running
service: a claim with an uploaded receipt, problem+json naming the field, upload checks, OpenAPI."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from salesgrid_common.clock import FakeClock
from salesgrid_dev.testing import TestKeys, principal, run_service, stand_in_identity
from salesgrid_dev.gateway_client import test_client
from salesgrid_expenses.app import DEFINITION, MIGRATIONS
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings

from expenses_fixtures import OWN as PERMS

PDF = b"%PDF-1.4\n%receipt\n"


async def test_expense_claim_rest_routes(database_url: str, nats_url: str, test_keys: TestKeys) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    async with (
        stand_in_identity(test_keys) as identity_addr,
        run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running,
    ):
        client = test_client(
            create_app(GatewaySettings(environment="test", identity_addr=identity_addr, expenses_addr=running.address))
        )
        headers = {"Authorization": f"Bearer {test_keys.token(principal('rep-a', '/c/t1/', permissions=PERMS))}"}

        def send(method: str, path: str, **kwargs):  # type: ignore[no-untyped-def]
            return asyncio.to_thread(
                getattr(client, method), path, headers={**headers, **kwargs.pop("extra", {})}, **kwargs
            )

        created = await send(
            "post",
            "/v1/expense-claims",
            json={
                "currency": "CNY",
                "lines": [{"category": "communication", "spent_on": "2026-03-01", "amount": "88.8"}],
            },
        )
        assert created.status_code == 201, created.get_json()
        claim = created.get_json()
        assert (claim["total"], claim["status"], created.headers["ETag"]) == ("88.80", "draft", '"1"')

        bad = await send(
            "post",
            "/v1/expense-claims",
            json={
                "currency": "CNY",
                "lines": [{"category": "entertainment", "spent_on": "2026-03-01", "amount": "10"}],
            },
        )
        assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
        assert [e["field"] for e in bad.get_json()["errors"]] == ["lines[0].customer_id"]

        for amount in ("1" * 27, "9" * 40):  # past Decimal's 28 digits: a 400 naming the field, not a 500
            huge = await send(
                "post",
                "/v1/expense-claims",
                json={"currency": "CNY", "lines": [{"category": "travel", "spent_on": "2026-03-01", "amount": amount}]},
            )
            assert (huge.status_code, huge.mimetype) == (400, "application/problem+json"), huge.get_json()
            assert [e["field"] for e in huge.get_json()["errors"]] == ["lines[0].amount"]

        receipts = f"/v1/expense-claims/{claim['id']}/lines/1/receipts?file_name=%E5%8F%91%E7%A5%A8.pdf"  # 发票.pdf
        wrong_type = await send("post", receipts, data=b"GIF89a", content_type="image/gif")
        assert wrong_type.status_code == 415
        beyond = await send(
            "post", receipts, data=PDF, content_type="application/pdf", extra={"If-Match": '"9178441420"'}
        )
        assert beyond.status_code == 400 and beyond.get_json()["errors"][0]["field"] == "If-Match"  # not an int32
        fake = await send("post", receipts, data=b"not a pdf", content_type="application/pdf")
        assert fake.status_code == 400 and [e["field"] for e in fake.get_json()["errors"]] == ["content"]
        attached = await send("post", receipts, data=PDF, content_type="application/pdf")
        assert attached.status_code == 201, attached.get_json()
        receipt = attached.get_json()["receipts"][0]
        download = await send("get", f"/v1/expense-claims/{claim['id']}/receipts/{receipt['id']}")
        assert (download.status_code, download.data, download.mimetype) == (200, PDF, "application/pdf")
        assert download.headers["Content-Disposition"] == "attachment; filename*=UTF-8''%E5%8F%91%E7%A5%A8.pdf"

        stale = await send("post", f"/v1/expense-claims/{claim['id']}/submit", extra={"If-Match": '"1"'})
        assert stale.status_code == 412  # a stale If-Match: Precondition Failed
        listed = await send("get", "/v1/expense-claims?status=draft")
        assert [c["id"] for c in listed.get_json()["items"]] == [claim["id"]]

        paths = (await asyncio.to_thread(client.get, "/openapi.json")).get_json()["paths"]
        for path in (
            "/v1/expense-claims",
            "/v1/expense-claims/{claim_id}/pay",
            "/v1/expense-claims/{claim_id}/lines/{line_no}/receipts",
            "/v1/expense-policies/{unit_id}",
        ):
            assert path in paths, path
