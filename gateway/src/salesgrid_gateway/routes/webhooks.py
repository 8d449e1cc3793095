"""/v1/webhooks (subscriptions, secret rotation, delivery log, redelivery), /v1/webhook-event-types."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from salesgrid.webhooks.v1 import webhooks_pb2 as pb
from salesgrid.webhooks.v1 import webhooks_pb2_grpc as pb_grpc
from salesgrid_gateway.clients import call, from_json, stub, to_json
from salesgrid_gateway.openapi import BOOLEAN, INTEGER, STRING, STRINGS, OpenApi, obj, path_param, query_param
from salesgrid_gateway.routes.common import json_body, page, page_size, require_fields

blueprint = Blueprint("webhooks", __name__)


def _webhooks() -> pb_grpc.WebhooksStub:
    return stub(pb_grpc.WebhooksStub, "webhooks_addr")


@blueprint.post("/v1/webhooks")
def create_subscription() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "url", "event_types")
    created = call(_webhooks().CreateSubscription, from_json(pb.CreateSubscriptionRequest, body))
    return jsonify({**to_json(created.subscription), "secret": created.secret}), 201


@blueprint.get("/v1/webhooks")
def list_subscriptions() -> Response:
    reply = call(_webhooks().ListSubscriptions, pb.ListSubscriptionsRequest())
    return jsonify(page([to_json(s) for s in reply.items], ""))


@blueprint.get("/v1/webhooks/<subscription_id>")
def get_subscription(subscription_id: str) -> Response:
    return jsonify(to_json(call(_webhooks().GetSubscription, pb.GetSubscriptionRequest(id=subscription_id))))


@blueprint.patch("/v1/webhooks/<subscription_id>")
def update_subscription(subscription_id: str) -> Response:
    body = json_body()
    return jsonify(to_json(call(_webhooks().UpdateSubscription,
                                from_json(pb.UpdateSubscriptionRequest, body, id=subscription_id))))


@blueprint.delete("/v1/webhooks/<subscription_id>")
def delete_subscription(subscription_id: str) -> tuple[str, int]:
    call(_webhooks().DeleteSubscription, pb.DeleteSubscriptionRequest(id=subscription_id))
    return "", 204


@blueprint.post("/v1/webhooks/<subscription_id>/rotate-secret")
def rotate_secret(subscription_id: str) -> Response:
    body = json_body() if request.get_data() else {}
    rotated = call(_webhooks().RotateSecret, from_json(pb.RotateSecretRequest, body, id=subscription_id))
    return jsonify({**to_json(rotated.subscription), "secret": rotated.secret})


@blueprint.get("/v1/webhooks/<subscription_id>/deliveries")
def list_deliveries(subscription_id: str) -> Response:
    reply = call(_webhooks().ListDeliveries, pb.ListDeliveriesRequest(
        subscription_id=subscription_id, status=request.args.get("status", ""), page_size=page_size(),
        page_token=request.args.get("cursor", "")))
    return jsonify(page([to_json(d) for d in reply.items], reply.next_page_token))


@blueprint.post("/v1/webhooks/<subscription_id>/deliveries/<delivery_id>/redeliver")
def redeliver(subscription_id: str, delivery_id: str) -> tuple[Response, int]:
    delivery = call(_webhooks().Redeliver, pb.RedeliverRequest(subscription_id=subscription_id,
                                                                delivery_id=delivery_id))
    return jsonify(to_json(delivery)), 202


@blueprint.get("/v1/webhook-event-types")
def list_event_types() -> Response:
    reply = call(_webhooks().ListEventTypes, pb.ListEventTypesRequest())
    return jsonify(page([{"event_type": t} for t in reply.event_types], ""))


SUBSCRIPTION = obj(["id", "url", "event_types", "enabled"], id=STRING, url=STRING, event_types=STRINGS,
                   enabled=BOOLEAN, disabled_reason=STRING, owner_id=STRING, owner_kind=STRING, description=STRING,
                   created_at=STRING, failing_since=STRING, previous_secret_expires_at=STRING)
ATTEMPT = obj(attempt=INTEGER, at=STRING, status_code=INTEGER, latency_ms=INTEGER, error=STRING)
DELIVERY = obj(["id", "status"], id=STRING, subscription_id=STRING, event_id=STRING, event_type=STRING,
               status={"type": "string", "enum": ["pending", "succeeded", "failed"]}, attempts=INTEGER,
               created_at=STRING, next_attempt_at=STRING, last_status_code=INTEGER, last_latency_ms=INTEGER,
               last_error=STRING, attempt_log={"type": "array", "items": ATTEMPT})


def describe(api: OpenApi) -> None:
    t = "webhooks"
    api.schemas["WebhookSubscription"] = SUBSCRIPTION
    api.schemas["WebhookDelivery"] = DELIVERY
    ref = {"$ref": "#/components/schemas/WebhookSubscription"}
    with_secret = {"allOf": [ref, obj(["secret"], secret=STRING)]}
    sid = path_param("subscription_id")
    api.operation("/v1/webhooks", "post", "Subscribe an endpoint to event types; the signing secret (Standard "
                  "Webhooks, whsec_…) is in this answer only. Deliveries carry webhook-id, webhook-timestamp and "
                  "webhook-signature; only records the caller could read are sent", tag=t, status=201,
                  request=obj(["url", "event_types"], url=STRING, event_types=STRINGS, description=STRING),
                  response=with_secret)
    api.operation("/v1/webhooks", "get", "List webhook subscriptions", tag=t,
                  response=obj(items={"type": "array", "items": ref}, next_cursor=STRING))
    api.operation("/v1/webhooks/{subscription_id}", "get", "Get a subscription", tag=t, parameters=[sid],
                  response=ref)
    api.operation("/v1/webhooks/{subscription_id}", "patch", "Change URL, event types or description; enable "
                  "(also after an automatic disable) or disable", tag=t, parameters=[sid], response=ref,
                  request=obj(url=STRING, event_types=STRINGS, enabled=BOOLEAN, description=STRING))
    api.operation("/v1/webhooks/{subscription_id}", "delete", "Delete a subscription", tag=t, parameters=[sid],
                  status=204)
    api.operation("/v1/webhooks/{subscription_id}/rotate-secret", "post", "New signing secret (shown once); the "
                  "previous one also signs until the overlap ends (default 24 h)", tag=t, parameters=[sid],
                  request=obj(overlap_seconds=INTEGER), response=with_secret)
    api.operation("/v1/webhooks/{subscription_id}/deliveries", "get", "Delivery log, newest first: status, "
                  "attempts with response code, latency and error", tag=t,
                  parameters=[sid, query_param("status"), query_param("limit", INTEGER), query_param("cursor")],
                  response=obj(items={"type": "array", "items": {"$ref": "#/components/schemas/WebhookDelivery"}},
                               next_cursor=STRING))
    api.operation("/v1/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver", "post",
                  "Send a delivery again now (same webhook-id)", tag=t, status=202,
                  parameters=[sid, path_param("delivery_id")],
                  response={"$ref": "#/components/schemas/WebhookDelivery"})
    api.operation("/v1/webhook-event-types", "get", "Event types a subscription may name", tag=t)
