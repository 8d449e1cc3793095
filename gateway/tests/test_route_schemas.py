"""The request schemas are as strict as the validation and the document links what it can: the
constraints name real fields of real messages, bodies refuse unknown members and empty required
ones (in the document and on the wire), and each created record links to the operations on it.
No service is configured: the refusals happen in the gateway, before any call."""

from __future__ import annotations

import asyncio
from typing import Any

from google.protobuf import descriptor_pool
from salesgrid_dev.testing import TestKeys, principal, stand_in_identity
from salesgrid_dev.gateway_client import test_client

from salesgrid_gateway.app import create_app, route_modules
from salesgrid_gateway.rest import constraints
from salesgrid_gateway.settings import GatewaySettings


def _document() -> dict[str, Any]:
    app = create_app(GatewaySettings(environment="test", identity_addr="127.0.0.1:1", log_level="WARNING"))
    return test_client(app).get("/openapi.json").get_json()  # type: ignore[no-any-return]


def test_every_constraint_names_a_field_of_a_message() -> None:
    route_modules()  # the services' messages are in the pool once the route modules are imported
    pool = descriptor_pool.Default()
    for message, fields in [*constraints.FIELDS.items(), *constraints.REQUIRED.items()]:
        names = pool.FindMessageTypeByName(message).fields_by_name
        assert set(fields) <= set(names), (message, set(fields) - set(names))


def test_request_bodies_refuse_unknown_and_empty_required_members_in_the_document() -> None:
    document = _document()
    bodies = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if content is None or "properties" not in content["schema"]:
                continue
            bodies += 1
            schema = content["schema"]
            if path.startswith("/v1/exports") or path.endswith("/print"):
                continue  # hand-written views with their own schemas
            assert schema["additionalProperties"] is False, (method, path)
            for name in schema.get("required", []):
                member = schema["properties"][name]
                if member.get("type") in ("integer", "number", "boolean"):
                    continue  # 0 and false are values
                assert {"minLength", "minItems", "minProperties"} & set(member), (method, path, name)
    assert bodies > 80
    create = document["paths"]["/v1/customers"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert create["properties"]["legal_name"] == {"type": "string", "minLength": 1, "pattern": r"\S"}
    claim = document["paths"]["/v1/expense-claims"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "CNY" in claim["properties"]["currency"]["enum"] and "XXX" not in claim["properties"]["currency"]["enum"]
    trend = document["paths"]["/v1/analytics/trend"]["get"]["parameters"]
    assert [p["required"] for p in trend if p["name"] == "metric"] == [True]


async def test_unknown_and_empty_required_members_are_refused_naming_them(test_keys: TestKeys) -> None:
    async with stand_in_identity(test_keys) as identity_addr:
        client = test_client(create_app(GatewaySettings(environment="test", identity_addr=identity_addr)))
        headers = {"Authorization": f"Bearer {test_keys.token(principal('rep-a', '/c/t1/'))}"}

        def post(body: dict[str, Any]) -> Any:
            return asyncio.to_thread(client.post, "/v1/customers", json=body, headers=headers)

        unknown = await post({"legal_name": "Acme", "nickname": "A"})
        assert unknown.status_code == 400 and [e["field"] for e in unknown.get_json()["errors"]] == ["nickname"]
        empty = await post({"legal_name": ""})
        assert empty.status_code == 400 and [e["field"] for e in empty.get_json()["errors"]] == ["legal_name"]


def test_created_records_link_to_the_operations_on_them() -> None:
    document = _document()
    links = document["paths"]["/v1/customers"]["post"]["responses"]["201"]["links"]
    by_target = {link["operationRef"]: link["parameters"] for link in links.values()}
    for method in ("get", "patch"):
        assert by_target[f"#/paths/~1v1~1customers~1%7Bcustomer_id%7D/{method}"] == {
            "customer_id": "$response.body#/id"
        }
    contact = document["paths"]["/v1/customers/{customer_id}/contacts"]["post"]["responses"]["201"]["links"]
    assert list(contact.values()) == [
        {
            "operationRef": "#/paths/~1v1~1customers~1%7Bcustomer_id%7D~1contacts~1%7Bcontact_id%7D/patch",
            "parameters": {"customer_id": "$request.path.customer_id", "contact_id": "$response.body#/id"},
        }
    ]
    count = 0
    for item in document["paths"].values():
        for operation in item.values():
            for response in operation["responses"].values():
                for link in response.get("links", {}).values():
                    count += 1
                    path, method = link["operationRef"].removeprefix("#/paths/").rsplit("/", 1)
                    path = path.replace("~1", "/").replace("%7B", "{").replace("%7D", "}").replace("~0", "~")
                    assert method in document["paths"][path], link  # every link reaches an operation
    assert count > 50


def test_reply_fields_beside_the_result_and_a_paged_record_are_documented() -> None:
    paths = _document()["paths"]
    created = paths["/v1/customers"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert "duplicate_warnings" in created["required"] and "legal_name" in created["properties"]
    job = paths["/v1/customers/imports/{job_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert job["properties"]["next_cursor"]["type"] == ["string", "null"]
    assert {"limit", "cursor"} <= {p["name"] for p in paths["/v1/customers/imports/{job_id}"]["get"]["parameters"]}
    events = paths["/v1/webhook-event-types"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert events["properties"]["items"]["items"]["required"] == ["event_type"]
