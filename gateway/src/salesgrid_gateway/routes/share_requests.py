"""/v1/customers/{id}/share-requests and /v1/share-requests: ask the owner of a customer one
cannot see to share it; the owner or his manager accepts or declines (customers service)."""

from __future__ import annotations

from salesgrid.customers.v1 import share_requests_pb2 as pb
from salesgrid_gateway.rest.schema import hint
from salesgrid_gateway.rest.table import Service

api = Service(pb, "ShareRequests", "customers_addr", tag="customers")
ROLE = {"enum": ["co_owner", "collaborator"]}
hint("salesgrid.customers.v1.RequestShareRequest", role={**ROLE, "default": "collaborator"})
hint(
    "salesgrid.customers.v1.ListShareRequestsRequest",
    box={"enum": ["incoming", "outgoing"]},
    status={"enum": ["pending", "accepted", "declined"]},
)

ROUTES = [
    api.post(
        "/v1/customers/{customer_id}/share-requests",
        "RequestShare",
        "Ask the owner of a customer (e.g. a blocking duplicate) to share it with you",
        status=201,
        optional_body=True,
    ),
    api.get(
        "/v1/share-requests",
        "ListShareRequests",
        "Share requests to decide (box=incoming) or made (box=outgoing)",
        items="requests",
    ),
    api.get("/v1/share-requests/{request_id}", "GetShareRequest", "Read a share request (requester, owner, manager)"),
    api.post(
        "/v1/share-requests/{request_id}/accept",
        "DecideShareRequest",
        "Accept: the customer is shared with the requester (owner or his manager)",
        optional_body=True,
        fixed={"accept": True},
    ),
    api.post(
        "/v1/share-requests/{request_id}/decline",
        "DecideShareRequest",
        "Decline a share request (owner or his manager)",
        optional_body=True,
        fixed={"accept": False},
    ),
]
