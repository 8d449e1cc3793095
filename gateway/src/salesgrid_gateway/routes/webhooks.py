"""/v1/webhooks (subscriptions, secret rotation, delivery log, redelivery), /v1/webhook-event-types."""

from __future__ import annotations

from flask import Response, jsonify

from salesgrid.webhooks.v1 import webhooks_pb2 as pb
from salesgrid_gateway.clients import call, from_json, stub, to_json
from salesgrid_gateway.openapi import list_of
from salesgrid_gateway.rest import inputs
from salesgrid_gateway.rest.table import Service, view

api = Service(pb, "Webhooks", "webhooks_addr", tag="webhooks")
T = "webhooks"


def _webhooks():  # type: ignore[no-untyped-def]
    return stub(api.stub_class, api.address_setting)


def create_subscription() -> tuple[Response, int]:
    body = inputs.json_body()
    missing = [name for name in ("url", "event_types") if not body.get(name)]
    if missing:
        raise inputs.bad(missing[0], "is required", f"missing required field(s): {', '.join(missing)}")
    created = call(_webhooks().CreateSubscription, from_json(pb.CreateSubscriptionRequest, body))
    return jsonify({**to_json(created.subscription), "secret": created.secret}), 201


def rotate_secret(subscription_id: str) -> Response:
    inputs.reject_nul(subscription_id, "subscription_id")
    body = inputs.json_body(optional=True)
    rotated = call(_webhooks().RotateSecret, from_json(pb.RotateSecretRequest, body, id=subscription_id))
    return jsonify({**to_json(rotated.subscription), "secret": rotated.secret})


def list_event_types() -> Response:
    reply = call(_webhooks().ListEventTypes, pb.ListEventTypesRequest())
    return jsonify({"items": [{"event_type": t} for t in reply.event_types], "next_cursor": None})


SUBSCRIPTION = {"$ref": "#/components/schemas/salesgrid.webhooks.v1.Subscription"}
WITH_SECRET = {
    "allOf": [SUBSCRIPTION, {"type": "object", "required": ["secret"], "properties": {"secret": {"type": "string"}}}]
}
ROUTES = [
    view(
        "POST",
        "/v1/webhooks",
        create_subscription,
        "Subscribe an endpoint to event types; the signing secret "
        "(Standard Webhooks, whsec_…) is in this answer only. Deliveries carry webhook-id, webhook-timestamp and "
        "webhook-signature; only records the caller could read are sent",
        tag=T,
        status=201,
        request_schema={
            "type": "object",
            "required": ["url", "event_types"],
            "properties": {
                "url": {"type": "string"},
                "event_types": {"type": "array", "items": {"type": "string"}},
                "description": {"type": "string"},
            },
        },
        response_schema=WITH_SECRET,
        messages=(pb.Subscription,),
    ),
    api.get("/v1/webhooks", "ListSubscriptions", "List webhook subscriptions", items="items"),
    api.get("/v1/webhooks/{subscription_id}", "GetSubscription", "Get a subscription"),
    api.patch(
        "/v1/webhooks/{subscription_id}",
        "UpdateSubscription",
        "Change URL, event types or description; enable (also after an automatic disable) or disable",
    ),
    api.delete("/v1/webhooks/{subscription_id}", "DeleteSubscription", "Delete a subscription", status=204),
    view(
        "POST",
        "/v1/webhooks/{subscription_id}/rotate-secret",
        rotate_secret,
        "New signing secret (shown once); the previous one also signs until the overlap ends (default 24 h)",
        tag=T,
        request_schema={
            "type": "object",
            "properties": {"overlap_seconds": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}},
        },
        optional_body=True,
        response_schema=WITH_SECRET,
        messages=(pb.Subscription,),
    ),
    api.get(
        "/v1/webhooks/{subscription_id}/deliveries",
        "ListDeliveries",
        "Delivery log, newest first: status, attempts with response code, latency and error",
        items="items",
    ),
    api.post(
        "/v1/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver",
        "Redeliver",
        "Send a delivery again now (same webhook-id)",
        status=202,
        body="",
    ),
    view(
        "GET",
        "/v1/webhook-event-types",
        list_event_types,
        "Event types a subscription may name",
        tag=T,
        response_schema=list_of(
            {"type": "object", "required": ["event_type"], "properties": {"event_type": {"type": "string"}}}
        ),
    ),
]
