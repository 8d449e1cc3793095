"""The documented webhook event type (a pattern built from the bus's catalogue) says exactly what
the webhooks service accepts: every aggregate of the catalogue, deliverable or not, with a verb,
a re-statement or *, is valid in the document if and only if the service's rule accepts it."""

from __future__ import annotations

import re
from typing import Any

from salesgrid_common.errors import ValidationFailed
from salesgrid_common.events import catalogue
from salesgrid_webhooks.domain.events import validate_event_types

from salesgrid_dev.gateway_client import test_client
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings


def _accepted(event_type: str) -> bool:
    try:
        validate_event_types([event_type])
        return True
    except ValidationFailed:
        return False


def test_the_documented_event_types_are_the_accepted_ones() -> None:
    app = create_app(GatewaySettings(environment="test", identity_addr="127.0.0.1:1", log_level="WARNING"))
    document: dict[str, Any] = test_client(app).get("/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    body = document["paths"]["/v1/webhooks"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in body:
        body = schemas[body["$ref"].rsplit("/", 1)[-1]]
    pattern = re.compile(body["properties"]["event_types"]["items"]["pattern"])
    candidates = [
        f"{aggregate}.{verb}"
        for aggregate in catalogue.AGGREGATES
        for verb in ("created", "changed", "*", *catalogue.RESTATEMENTS)
    ] + ["salesgrid.nowhere.thing.created", "salesgrid.customers.customer", "salesgrid.customers.customer.Created"]
    assert len(candidates) > 100
    documented = {t for t in candidates if pattern.fullmatch(t)}
    assert documented == {t for t in candidates if _accepted(t)}
    assert "salesgrid.customers.customer.*" in documented
