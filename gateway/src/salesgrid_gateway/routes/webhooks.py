"""/v1/webhooks (subscriptions, secret rotation, delivery log, redelivery), /v1/webhook-event-types."""

from __future__ import annotations

from salesgrid.webhooks.v1 import webhooks_pb2 as pb
from salesgrid_gateway.rest.table import Service

api = Service(pb, "Webhooks", "webhooks_addr", tag="webhooks")
W, SECRET = "/v1/webhooks/{subscription_id}", {"result": "subscription", "also": {"secret": "secret"}}
# fmt: off
ROUTES = [
    api.post("/v1/webhooks", "CreateSubscription", "Subscribe an endpoint to event types; the signing secret (Standard Webhooks, whsec_…) is in this answer only. Deliveries carry webhook-id, webhook-timestamp and webhook-signature; only records the caller could read are sent", status=201, **SECRET),
    api.get("/v1/webhooks", "ListSubscriptions", "List webhook subscriptions", items="items"),
    api.get(W, "GetSubscription", "Get a subscription"),
    api.patch(W, "UpdateSubscription", "Change URL, event types or description; enable (also after an automatic disable) or disable"),
    api.delete(W, "DeleteSubscription", "Delete a subscription", status=204),
    api.post(W + "/rotate-secret", "RotateSecret", "New signing secret (shown once); the previous one also signs until the overlap ends (default 24 h)", optional_body=True, **SECRET),
    api.get(W + "/deliveries", "ListDeliveries", "Delivery log, newest first: status, attempts with response code, latency and error", items="items"),
    api.post(W + "/deliveries/{delivery_id}/redeliver", "Redeliver", "Send a delivery again now (same webhook-id)", status=202, body=""),
    api.get("/v1/webhook-event-types", "ListEventTypes", "Event types a subscription may name", items="event_types", item_name="event_type"),
]
# fmt: on
