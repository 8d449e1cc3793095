"""The customers REST routes through the real gateway app (Flask test client) to the running
service: create with duplicate check, ETag/If-Match (stale: 412), contacts, shares, the pool,
totals only when asked, and a streamed import."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from salesgrid_dev.testing import run_service, stand_in_identity
from salesgrid_dev.gateway_client import test_client
from salesgrid_customers import models
from salesgrid_customers.app import DEFINITION, MIGRATIONS
from salesgrid_gateway.app import create_app
from salesgrid_gateway.rest import uploads
from salesgrid_gateway.settings import GatewaySettings

from customers_fixtures import running_customers, seed_directory, token


async def test_gateway_routes(database_url: str, nats_url: str, test_keys) -> None:
    async with (
        stand_in_identity(test_keys) as identity_addr,
        run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys) as running,
    ):
        await seed_directory(running)
        gateway = test_client(
            create_app(
                GatewaySettings(
                    environment="test", identity_addr=identity_addr, customers_addr=running.address, metrics_port=0
                )
            )
        )
        headers = {"Authorization": token(test_keys, "rep-a")[0][1]}
        await asyncio.to_thread(_gateway_scenario, gateway, headers, {"Authorization": token(test_keys, "rep-b")[0][1]})


def _gateway_scenario(gateway, a: dict[str, str], b: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    created = gateway.post(
        "/v1/customers",
        json={
            "legal_name": "上海浦东发展银行股份有限公司",
            "tier": "key",
            "address": {"text": "中山东一路12号", "latitude": 31.2, "longitude": 121.5},
        },
        headers=a,
    )
    assert created.status_code == 201, created.json
    customer = created.json
    assert created.headers["ETag"] == '"1"' and customer["duplicate_warnings"] == []
    cid = customer["id"]

    dup = gateway.post("/v1/customers", json={"legal_name": "上海浦东发展银行（上海）"}, headers=b)
    assert dup.status_code == 409 and "rep-a" in dup.json["detail"]
    check = gateway.post("/v1/customers/duplicate-check", json={"legal_name": "浦东发展银行"}, headers=b)
    assert check.status_code == 200 and [w["customer_id"] for w in check.json["warnings"]] == [cid]
    bad = gateway.post("/v1/customers", json={"legal_name": "X", "credit_code": "123"}, headers=a)
    assert bad.status_code == 400 and {e["field"] for e in bad.json["errors"]} == {"credit_code"}

    # the total only when asked (include_total=true), within the caller's scope: rep-b holds none
    assert "total" not in gateway.get("/v1/customers?limit=1", headers=a).json
    for who, expected in ((a, 1), (b, 0)):
        counted = gateway.get("/v1/customers?limit=1&include_total=true", headers=who)
        assert (counted.status_code, counted.json.get("total")) == (200, expected), counted.json
    wrong = gateway.get("/v1/customers?include_total=maybe", headers=a)
    assert wrong.status_code == 400 and [e["field"] for e in wrong.json["errors"]] == ["include_total"]

    assert gateway.get(f"/v1/customers/{cid}", headers=b).status_code == 403
    assert gateway.patch(f"/v1/customers/{cid}", json={"tier": "normal"}, headers=a).status_code == 428
    patched = gateway.patch(f"/v1/customers/{cid}", json={"tags": ["银行"]}, headers={**a, "If-Match": '"1"'})
    assert patched.status_code == 200 and patched.headers["ETag"] == '"2"' and patched.json["tags"] == ["银行"]
    stale = gateway.patch(f"/v1/customers/{cid}", json={"tier": "normal"}, headers={**a, "If-Match": '"1"'})
    assert stale.status_code == 412  # a stale If-Match: Precondition Failed (issue 16)

    contact = gateway.post(f"/v1/customers/{cid}/contacts", json={"full_name": "陈明", "primary": True}, headers=a)
    assert contact.status_code == 201 and contact.json["primary"] is True
    assert [c["full_name"] for c in gateway.get(f"/v1/customers/{cid}/contacts", headers=a).json["items"]] == ["陈明"]
    shared = gateway.post(f"/v1/customers/{cid}/shares", json={"user_id": "rep-b", "role": "co_owner"}, headers=a)
    assert shared.status_code == 200 and shared.json["items"] == [{"user_id": "rep-b", "role": "co_owner"}]
    listed = gateway.get("/v1/customers?limit=10", headers=b)
    assert [c["id"] for c in listed.json["items"]] == [cid] and listed.json["next_cursor"] is None
    assert gateway.delete(f"/v1/customers/{cid}/shares/rep-b", headers=a).json["items"] == []

    released = gateway.post(f"/v1/customers/{cid}/release", json={"reason": "lost contact"}, headers=a)
    assert released.status_code == 200 and released.json["owner_id"] == ""
    assert [c["id"] for c in gateway.get("/v1/pool", headers=b).json["items"]] == [cid]
    claimed = gateway.post(f"/v1/pool/{cid}/claim", headers=b)
    assert claimed.status_code == 200 and claimed.json["owner_id"] == "rep-b"
    assert gateway.post(f"/v1/pool/{cid}/claim", headers=a).status_code == 422

    paths = gateway.get("/openapi.json").json["paths"]
    assert {"/v1/customers", "/v1/customers/{customer_id}/shares", "/v1/pool/{customer_id}/claim"} <= set(paths)


async def test_gateway_streams_an_import(database_url: str, nats_url: str, test_keys) -> None:
    """A body larger than the gateway's chunk size reaches the service byte for byte."""
    async with (
        stand_in_identity(test_keys) as identity_addr,
        running_customers(database_url, nats_url, test_keys) as running,
    ):
        await seed_directory(running)
        gateway = test_client(
            create_app(
                GatewaySettings(
                    environment="test", identity_addr=identity_addr, customers_addr=running.address, metrics_port=0
                )
            )
        )
        headers = {"Authorization": token(test_keys, "rep-a")[0][1]}
        rows = [
            {"legal_name": f"批量导入{i:03d}有限公司", "address": "上海市浦东新区" * (260 + i % 7)} for i in range(450)
        ]
        body = ("legal_name,address\n" + "".join(f"{r['legal_name']},{r['address']}\n" for r in rows)).encode()
        assert len(body) > 2 * uploads.IMPORT_CHUNK_BYTES
        started = await asyncio.to_thread(
            gateway.post, "/v1/customers/imports", data=body, headers={**headers, "Content-Type": "text/csv"}
        )
        assert started.status_code == 202, started.json
        assert started.headers["Location"] == f"/v1/customers/imports/{started.json['id']}"
        assert started.json["total"] == len(rows)
        async with running.app.ctx.sessions() as session:
            stored = (await session.scalars(select(models.ImportRow.data).order_by(models.ImportRow.row_number))).all()
        assert list(stored) == rows
        wrong = await asyncio.to_thread(
            gateway.post, "/v1/customers/imports", data=b"x", headers={**headers, "Content-Type": "text/plain"}
        )
        assert wrong.status_code == 415
