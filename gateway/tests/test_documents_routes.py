"""Printed documents through the real gateway app to the running contracts service: the PDF is
the response body with its number, copy number and a UTF-8 file name; a missing payer is a
problem+json naming the field; the OpenAPI document describes the routes."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, date, datetime
from decimal import Decimal

from pypdf import PdfReader
from sqlalchemy import update

from salesgrid_common.clock import FakeClock
from salesgrid_contracts import models
from salesgrid_contracts.app import DEFINITION, MIGRATIONS
from salesgrid_contracts.settings import ContractsSettings
from salesgrid_dev.testing import TestKeys, principal, run_service, stand_in_identity
from salesgrid_dev.gateway_client import test_client
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings

from contracts_fixtures import REP_PERMS

# a rep who also keeps the product catalogue and holds contracts:approve
PERMS = {**REP_PERMS, "products:create": "all", "products:update": "all", "contracts:approve": "all"}


async def test_print_routes(database_url: str, nats_url: str, test_keys: TestKeys) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    async with (
        stand_in_identity(test_keys) as identity_addr,
        run_service(
            DEFINITION,
            MIGRATIONS,
            database_url,
            nats_url,
            test_keys,
            clock=clock,
            settings_cls=ContractsSettings,
            company_name="上海示范销售有限公司",
        ) as running,
    ):
        client = test_client(
            create_app(GatewaySettings(environment="test", identity_addr=identity_addr, contracts_addr=running.address))
        )
        headers = {"Authorization": f"Bearer {test_keys.token(principal('rep-a', '/c/t1/', permissions=PERMS))}"}

        def send(method: str, path: str, body: dict | None = None):  # type: ignore[no-untyped-def]
            return asyncio.to_thread(getattr(client, method), path, json=body, headers=headers)

        product = (
            await send(
                "post",
                "/v1/products",
                {"sku": "CRM-1", "name": "CRM seat", "prices": [{"currency": "CNY", "amount": "1200.00"}]},
            )
        ).get_json()
        contract = (
            await send(
                "post",
                "/v1/contracts",
                {
                    "customer_id": "cust-1",
                    "branch_code": "SH",
                    "currency": "CNY",
                    "start_date": "2026-04-01",
                    "end_date": "2027-03-31",
                    "lines": [{"product_id": product["id"], "quantity": "2"}],
                },
            )
        ).get_json()
        unprintable = await send("post", f"/v1/contracts/{contract['id']}/print")
        assert unprintable.status_code == 422 and unprintable.mimetype == "application/problem+json"
        assert [e["field"] for e in unprintable.get_json()["errors"]] == ["template_id"]

        # the approval flow is the service tests' business: here the contract is signed and paid in the table
        async with running.app.ctx.sessions() as session, session.begin():
            await session.execute(
                update(models.Contract).where(models.Contract.id == contract["id"]).values(status="signed")
            )
            session.add(
                models.ReceiptRow(
                    id="rcpt-1",
                    contract_id=contract["id"],
                    owner_id="rep-a",
                    org_path="/c/t1/",
                    received_on=date(2026, 3, 2),
                    amount=Decimal("2400.00"),
                    currency="CNY",
                    method="cash",
                    reference="",
                    recorded_by="rep-a",
                    version=1,
                    created_at=clock(),
                )
            )
        missing = await send("post", "/v1/receipts/rcpt-1/print", {})
        assert missing.status_code == 400 and missing.mimetype == "application/problem+json"
        assert [e["field"] for e in missing.get_json()["errors"]] == ["payer_name"]
        first = await send("post", "/v1/receipts/rcpt-1/print", {"payer_name": "杭州星辰科技有限公司"})
        assert first.status_code == 200 and first.mimetype == "application/pdf"
        assert (first.headers["X-Document-Number"], first.headers["X-Copy-Number"]) == ("SH-2026-R000001", "0")
        assert first.headers["Content-Disposition"] == "attachment; filename*=UTF-8''SH-2026-R000001.pdf"
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(first.data)).pages)
        assert "杭州星辰科技有限公司" in text and "CNY 2,400.00" in text and "上海示范销售有限公司" in text
        second = await send("post", "/v1/receipts/rcpt-1/print")
        assert second.headers["X-Copy-Number"] == "1"
        assert second.headers["Content-Disposition"].endswith("SH-2026-R000001-copy-1.pdf")
        assert "副本 COPY 1" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(second.data)).pages)
        listed = (await send("get", "/v1/documents?subject_id=rcpt-1")).get_json()["items"]
        assert [(d["number"], d["copies"], d["kind"]) for d in listed] == [("SH-2026-R000001", 1, "receipt")]
        missing_receipt = await send("post", "/v1/receipts/nope/print", {"payer_name": "x"})
        assert missing_receipt.status_code == 404

        paths = (await asyncio.to_thread(client.get, "/openapi.json")).get_json()["paths"]
        for path in ("/v1/receipts/{receipt_id}/print", "/v1/contracts/{contract_id}/print", "/v1/documents"):
            assert path in paths, path
