"""/v1/customers (contacts, shares, release, duplicate check, merge, imports) and /v1/pool."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Response, jsonify, request

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid_gateway.clients import call, call_stream, from_json, stub, to_json
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.rest import inputs
from salesgrid_gateway.rest.schema import hint
from salesgrid_gateway.rest.table import Service, view
from salesgrid_gateway.routes.common import with_etag

api = Service(pb, "Customers", "customers_addr", tag="customers")
T = "customers"
CUSTOMER = {"$ref": "#/components/schemas/salesgrid.customers.v1.Customer"}
TIER = {"enum": ["key", "normal", "potential"]}
hint("salesgrid.customers.v1.CreateCustomerRequest", tier=TIER)
hint("salesgrid.customers.v1.UpdateCustomerRequest", tier=TIER)
hint("salesgrid.customers.v1.ListCustomersRequest", tier=TIER, sort={"enum": ["newest", "name", "recently_updated"]})
hint("salesgrid.customers.v1.ShareCustomerRequest", role={"enum": ["co_owner", "collaborator"]})
hint("salesgrid.customers.v1.CustomerShare", role={"enum": ["co_owner", "collaborator"]})


def _customers():  # type: ignore[no-untyped-def]
    return stub(api.stub_class, api.address_setting)


def create_customer() -> tuple[Response, int]:
    body = inputs.json_body()
    if not body.get("legal_name"):
        raise inputs.bad("legal_name", "is required")
    reply = call(_customers().CreateCustomer, from_json(pb.CreateCustomerRequest, body))
    # Near duplicates did not block the create; the client shows them so the rep can ask to share.
    payload = {**to_json(reply.customer), "duplicate_warnings": [to_json(w) for w in reply.warnings]}
    return with_etag(payload, reply.customer.version, 201)


def merge_customers() -> tuple[Response, int]:
    body = inputs.json_body()
    missing = [name for name in ("survivor_id", "duplicate_ids") if not body.get(name)]
    if missing:
        raise ApiProblem(
            400,
            f"missing required field(s): {', '.join(missing)}",
            errors=[{"field": name, "message": "is required"} for name in missing],
        )
    version = inputs.if_match(body, required=False)
    reply = call(_customers().MergeCustomers, from_json(pb.MergeCustomersRequest, body, expected_version=version))
    payload = {
        **to_json(reply.customer),
        "merged_ids": list(reply.merged_ids),
        "dropped_tags": list(reply.dropped_tags),
    }
    return with_etag(payload, reply.customer.version)


IMPORT_FORMATS = {"text/csv": "csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx"}
IMPORT_CHUNK_BYTES = 1 << 20  # the body streams through in pieces of this size, never whole in memory


def start_import() -> tuple[Response, int]:
    """The file is the request body, streamed to the service; rows are checked and created
    asynchronously by the service under the importer's own permissions and the same duplicate
    rules as single creates."""
    file_format = IMPORT_FORMATS.get(request.mimetype)
    if file_format is None:
        raise ApiProblem(415, f"send the file as {' or '.join(IMPORT_FORMATS)}")
    body = request.stream  # the stream itself: gRPC reads the chunks outside the request context

    def chunks() -> Iterator[pb.ImportChunk]:
        yield pb.ImportChunk(format=file_format, data=body.read(IMPORT_CHUNK_BYTES))
        while data := body.read(IMPORT_CHUNK_BYTES):
            yield pb.ImportChunk(data=data)

    job = call_stream(_customers().StartImport, chunks())
    response = jsonify(to_json(job))
    response.headers["Location"] = f"/v1/customers/imports/{job.id}"
    return response, 202


def get_import(job_id: str) -> Response:
    scope = "get:/v1/customers/imports/{job_id}"
    job = call(
        _customers().GetImport,
        pb.GetImportRequest(id=job_id, page_size=inputs.limit(), cursor=inputs.decode_cursor(scope)),
    )
    return jsonify({**to_json(job), "next_cursor": inputs.encode_cursor(scope, job.next_cursor)})


STRING = {"type": "string"}
ROUTES = [
    view(
        "POST",
        "/v1/customers",
        create_customer,
        "Create a customer (duplicate check: an exact match blocks "
        "with 409 naming the owner; near matches come back as duplicate_warnings)",
        tag=T,
        status=201,
        request_message=pb.CreateCustomerRequest,
        required=("legal_name",),
        response_schema={
            "allOf": [
                CUSTOMER,
                {
                    "type": "object",
                    "properties": {
                        "duplicate_warnings": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/salesgrid.customers.v1.DuplicateMatch"},
                        }
                    },
                },
            ]
        },
        headers=("ETag",),
        messages=(pb.DuplicateMatch, pb.Customer),
    ),
    api.get(
        "/v1/customers",
        "ListCustomers",
        "List customers in scope (sort: newest, name, recently_updated; updated_since: RFC 3339)",
        items="customers",
        rename={"q": "query"},
        audit=("customers.list", "customers"),
    ),
    api.get("/v1/customers/{customer_id}", "GetCustomer", "Read a customer (ETag = version)"),
    api.patch(
        "/v1/customers/{customer_id}", "UpdateCustomer", "Update a customer (If-Match: version)", if_match="required"
    ),
    api.post(
        "/v1/customers/duplicate-check",
        "CheckDuplicates",
        "Check a name and credit code for duplicates",
        required=("legal_name",),
    ),
    api.get(
        "/v1/customers/{customer_id}/overview",
        "GetOverview",
        "Customer 360: contacts, follow-ups, open "
        "opportunities, contracts, collected and outstanding amounts per currency (kept from events)",
    ),
    api.get("/v1/customers/{customer_id}/contacts", "ListContacts", "List a customer's contacts", items="contacts"),
    api.post(
        "/v1/customers/{customer_id}/contacts",
        "AddContact",
        "Add a contact (a new primary demotes the old)",
        status=201,
        required=("full_name",),
    ),
    api.patch("/v1/customers/{customer_id}/contacts/{contact_id}", "UpdateContact", "Update a contact"),
    api.get("/v1/customers/{customer_id}/shares", "ListShares", "List co-owners and collaborators", items="shares"),
    api.post(
        "/v1/customers/{customer_id}/shares",
        "ShareCustomer",
        "Share with a co-owner or read-only collaborator (owner or his manager)",
        items="shares",
        required=("user_id", "role"),
    ),
    api.delete(
        "/v1/customers/{customer_id}/shares/{user_id}", "UnshareCustomer", "Stop sharing with a user", items="shares"
    ),
    api.post(
        "/v1/customers/{customer_id}/release",
        "ReleaseCustomer",
        "Release a customer to the public pool",
        optional_body=True,
    ),
    api.post(
        "/v1/customers/arbitration",
        "Arbitrate",
        "Arbitrate ownership of near-duplicate customers held by "
        "different reps (registered name, then first follow-up, then first opportunity); recorded and both "
        "reps notified",
        status=201,
        required=("customer_ids", "registered_name"),
    ),
    view(
        "POST",
        "/v1/customers/merge",
        merge_customers,
        "Merge duplicates into a survivor (contacts kept, shares "
        "united, duplicates deactivated; If-Match: the survivor's version, optional)",
        tag=T,
        if_match="optional",
        request_schema={
            "type": "object",
            "required": ["survivor_id", "duplicate_ids"],
            "properties": {
                "survivor_id": STRING,
                "duplicate_ids": {"type": "array", "items": STRING},
                "version": {"type": "integer", "minimum": 0},
            },
        },
        response_schema={
            "allOf": [
                CUSTOMER,
                {
                    "type": "object",
                    "properties": {
                        "merged_ids": {"type": "array", "items": STRING},
                        "dropped_tags": {"type": "array", "items": STRING},
                    },
                },
            ]
        },
        headers=("ETag",),
        messages=(pb.Customer,),
    ),
    api.post(
        "/v1/customers/{customer_id}/deactivate",
        "DeactivateCustomer",
        "Deactivate a customer (If-Match)",
        body="",
        if_match="required",
    ),
    api.get("/v1/pool", "ListPool", "List the public pool", items="customers"),
    api.post(
        "/v1/pool/{customer_id}/claim",
        "ClaimCustomer",
        "Claim a pool customer (caps, cool-down; one of concurrent claimants wins, the others get 422)",
        body="",
    ),
    view(
        "POST",
        "/v1/customers/imports",
        start_import,
        "Import customers from a CSV or XLSX body (202 + job): rows "
        "are created asynchronously under the same validation, duplicate and permission rules",
        tag=T,
        status=202,
        request_types=tuple(IMPORT_FORMATS),
        response_schema={"$ref": "#/components/schemas/salesgrid.customers.v1.ImportJob"},
        headers=("Location",),
        messages=(pb.ImportJob,),
    ),
    view(
        "GET",
        "/v1/customers/imports/{job_id}",
        get_import,
        "Import progress and per-row errors (paged: limit, cursor, next_cursor)",
        tag=T,
        parameters=(
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": inputs.MAX_LIMIT}},
            {"name": "cursor", "in": "query", "schema": STRING},
        ),
        response_schema={"$ref": "#/components/schemas/salesgrid.customers.v1.ImportJob"},
        messages=(pb.ImportJob,),
    ),
    api.get(
        "/v1/pool-policies/{unit_id}",
        "GetPoolPolicy",
        "The public-pool policy in force for a unit (inherited from the nearest ancestor when it has none)",
    ),
    api.put("/v1/pool-policies/{unit_id}", "PutPoolPolicy", "Set a unit's public-pool policy"),
]
