"""Webhooks end to end on the real platform: a partner key subscribes through the gateway; reps
create customers in its unit and in another; the webhooks service delivers from the bus to a
receiver on 127.0.0.1 that verifies the Standard Webhooks signature -- only the customer the key
could read arrives; the delivery log and the OpenAPI document show it all."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from salesgrid_dev.api import auth, created, org_unit, person, poll, problem, root_unit
from standardwebhooks.webhooks import Webhook


def test_partner_key_receives_signed_webhooks_for_its_scope_only(api: httpx.Client, admin_token: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    admin = auth(admin_token)
    root = root_unit(api, admin_token)
    unit_a = org_unit(api, admin_token, root["id"], f"Hooks A {suffix}")
    unit_b = org_unit(api, admin_token, root["id"], f"Hooks B {suffix}")
    _, rep_a = person(api, admin_token, unit_a["id"], f"hooks.a.{suffix}", "rep")
    _, rep_b = person(api, admin_token, unit_b["id"], f"hooks.b.{suffix}", "rep")
    key = created(
        api.post(
            "/v1/api-keys",
            headers=admin,
            json={
                "name": f"erp-{suffix}",
                "unit_id": unit_a["id"],
                "permissions": [
                    {"name": "customers:read", "scope": "subtree"},
                    {"name": "webhooks:read", "scope": "own"},
                    {"name": "webhooks:create", "scope": "own"},
                    {"name": "webhooks:delete", "scope": "own"},
                ],
            },
        )
    )
    partner = {"X-API-Key": key["secret"]}

    received: list[dict[str, Any]] = []
    secret: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                payload = Webhook(secret[0]).verify(body, {k.lower(): v for k, v in self.headers.items()})
                received.append({"id": self.headers["webhook-id"], "payload": payload})
                self.send_response(204)
            except Exception:
                self.send_response(401)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
        problem(
            api.post("/v1/webhooks", headers=partner, json={"url": url, "event_types": ["nope"]}), 400, "event_types"
        )
        problem(
            api.post(
                "/v1/webhooks",
                headers=auth(rep_a),
                json={"url": url, "event_types": ["salesgrid.customers.customer.created"]},
            ),
            403,
        )
        sub = created(
            api.post(
                "/v1/webhooks",
                headers=partner,
                json={"url": url, "event_types": ["salesgrid.customers.customer.created"], "description": "ERP sync"},
            )
        )
        secret.append(sub["secret"])
        assert (
            sub["secret"].startswith("whsec_")
            and "secret" not in api.get(f"/v1/webhooks/{sub['id']}", headers=partner).json()
        )
        assert [s["id"] for s in api.get("/v1/webhooks", headers=partner).json()["items"]] == [sub["id"]]

        inside = created(api.post("/v1/customers", headers=auth(rep_a), json={"legal_name": f"Hook In {suffix} GmbH"}))
        outside = created(api.post("/v1/customers", headers=auth(rep_b), json={"legal_name": f"Hook Out {suffix} AG"}))
        poll(lambda: received, timeout=30)
        assert received[0]["payload"]["type"] == "salesgrid.customers.customer.created"
        assert received[0]["payload"]["data"]["id"] == inside["id"]
        deliveries = poll(
            lambda: [
                d
                for d in api.get(f"/v1/webhooks/{sub['id']}/deliveries", headers=partner).json()["items"]
                if d["status"] == "succeeded"
            ]
        )
        assert deliveries[0]["id"] == received[0]["id"] and deliveries[0]["last_status_code"] == 204
        assert deliveries[0]["attempt_log"][0]["status_code"] == 204
        # The other unit's customer is never delivered (its event came before a later marker).
        marker = created(api.post("/v1/customers", headers=auth(rep_a), json={"legal_name": f"Hook 2 {suffix} KG"}))
        poll(lambda: len(received) >= 2, timeout=30)
        assert {r["payload"]["data"]["id"] for r in received} == {inside["id"], marker["id"]}
        assert outside["id"] not in json.dumps(received)
        again = api.post(f"/v1/webhooks/{sub['id']}/deliveries/{deliveries[0]['id']}/redeliver", headers=partner)
        assert again.status_code == 202, again.text
        poll(lambda: [r for r in received[2:] if r["id"] == deliveries[0]["id"]], timeout=30)

        spec = api.get("/openapi.json").json()
        assert "/v1/webhooks" in spec["paths"] and "/v1/webhooks/{subscription_id}/deliveries" in spec["paths"]
        assert any(p["name"] == "Idempotency-Key" for p in spec["paths"]["/v1/webhooks"]["post"]["parameters"])
        assert api.delete(f"/v1/webhooks/{sub['id']}", headers=partner).status_code == 204
        problem(api.get(f"/v1/webhooks/{sub['id']}", headers=partner), 404)
    finally:
        server.shutdown()
