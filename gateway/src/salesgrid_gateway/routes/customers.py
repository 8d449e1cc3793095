"""/v1/customers (contacts, shares, release, duplicate check) and /v1/pool."""
from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, jsonify, request

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid_gateway.clients import call, call_stream, from_json, stub, to_json
from salesgrid_gateway.openapi import BOOLEAN, INTEGER, STRING, STRINGS, OpenApi, obj, path_param, query_param
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.routes.custom_fields import CUSTOM_FIELDS_REF as CUSTOM_FIELDS
from salesgrid_gateway.routes.custom_fields import custom_field_filters, document_filters
from salesgrid_gateway.routes.common import (expected_version, json_body, page, page_size, report_sensitive_read,
                                             require_fields, with_etag)

blueprint = Blueprint("customers", __name__)


def _customers() -> pb_grpc.CustomersStub:
    return stub(pb_grpc.CustomersStub, "customers_addr")


@blueprint.post("/v1/customers")
def create_customer() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "legal_name")
    reply = call(_customers().CreateCustomer, from_json(pb.CreateCustomerRequest, body))
    # Near duplicates did not block the create; the client shows them so the rep can ask to share.
    payload = {**to_json(reply.customer), "duplicate_warnings": [to_json(w) for w in reply.warnings]}
    return with_etag(payload, reply.customer.version, 201)


@blueprint.get("/v1/customers")
def list_customers() -> Response:
    args = {name: request.args.get(name, "")
            for name in ("cursor", "owner_id", "tier", "tag", "industry", "unit_id", "sort")}
    if request.args.get("updated_since"):
        args["updated_since"] = request.args["updated_since"]  # RFC 3339; a bad one is a 400 naming it
    reply = call(_customers().ListCustomers, from_json(pb.ListCustomersRequest, args, page_size=page_size(),
                                                       query=request.args.get("q", ""),
                                                       custom_fields=custom_field_filters()))
    report_sensitive_read("customers.list", "customers")  # the customer base is the company's core asset
    return jsonify(page([to_json(c) for c in reply.customers], reply.next_cursor))


@blueprint.get("/v1/customers/<customer_id>")
def get_customer(customer_id: str) -> tuple[Response, int]:
    customer = call(_customers().GetCustomer, pb.GetCustomerRequest(id=customer_id))
    return with_etag(to_json(customer), customer.version)


@blueprint.patch("/v1/customers/<customer_id>")
def update_customer(customer_id: str) -> tuple[Response, int]:
    body = json_body()
    version = expected_version(body)
    if "tags" in body:
        body["set_tags"] = True
    customer = call(_customers().UpdateCustomer, from_json(pb.UpdateCustomerRequest, body, id=customer_id,
                                                           expected_version=version))
    return with_etag(to_json(customer), customer.version)


@blueprint.post("/v1/customers/duplicate-check")
def duplicate_check() -> Response:
    body = json_body()
    require_fields(body, "legal_name")
    return jsonify(to_json(call(_customers().CheckDuplicates, from_json(pb.CheckDuplicatesRequest, body))))


@blueprint.get("/v1/customers/<customer_id>/overview")
def customer_overview(customer_id: str) -> Response:
    return jsonify(to_json(call(_customers().GetOverview, pb.GetCustomerRequest(id=customer_id))))


@blueprint.get("/v1/customers/<customer_id>/contacts")
def list_contacts(customer_id: str) -> Response:
    reply = call(_customers().ListContacts, pb.ListContactsRequest(customer_id=customer_id))
    return jsonify(page([to_json(c) for c in reply.contacts], ""))


@blueprint.post("/v1/customers/<customer_id>/contacts")
def add_contact(customer_id: str) -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "full_name")
    contact = call(_customers().AddContact, from_json(pb.AddContactRequest, body, customer_id=customer_id))
    return jsonify(to_json(contact)), 201


@blueprint.get("/v1/customers/<customer_id>/shares")
def list_shares(customer_id: str) -> Response:
    reply = call(_customers().ListShares, pb.ListSharesRequest(customer_id=customer_id))
    return jsonify(page([to_json(s) for s in reply.shares], ""))


@blueprint.post("/v1/customers/<customer_id>/shares")
def share_customer(customer_id: str) -> Response:
    body = json_body()
    require_fields(body, "user_id", "role")
    reply = call(_customers().ShareCustomer, from_json(pb.ShareCustomerRequest, body, customer_id=customer_id))
    return jsonify(page([to_json(s) for s in reply.shares], ""))


@blueprint.delete("/v1/customers/<customer_id>/shares/<user_id>")
def unshare_customer(customer_id: str, user_id: str) -> Response:
    reply = call(_customers().UnshareCustomer, pb.UnshareCustomerRequest(customer_id=customer_id, user_id=user_id))
    return jsonify(page([to_json(s) for s in reply.shares], ""))


@blueprint.post("/v1/customers/<customer_id>/release")
def release_customer(customer_id: str) -> tuple[Response, int]:
    body = json_body() if request.content_length else {}
    customer = call(_customers().ReleaseCustomer, pb.ReleaseCustomerRequest(id=customer_id,
                                                                            reason=str(body.get("reason", ""))))
    return with_etag(to_json(customer), customer.version)


@blueprint.post("/v1/customers/arbitration")
def arbitrate() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "customer_ids", "registered_name")
    decision = call(_customers().Arbitrate, from_json(pb.ArbitrateRequest, body))
    return jsonify(to_json(decision)), 201


@blueprint.post("/v1/customers/merge")
def merge_customers() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "survivor_id", "duplicate_ids")
    version = expected_version(body, required=False)
    reply = call(_customers().MergeCustomers, from_json(pb.MergeCustomersRequest, body, expected_version=version))
    payload = {**to_json(reply.customer), "merged_ids": list(reply.merged_ids),
               "dropped_tags": list(reply.dropped_tags)}
    return with_etag(payload, reply.customer.version)


@blueprint.post("/v1/customers/<customer_id>/deactivate")
def deactivate_customer(customer_id: str) -> tuple[Response, int]:
    body = json_body() if request.content_length else {}
    customer = call(_customers().DeactivateCustomer, pb.DeactivateCustomerRequest(
        id=customer_id, expected_version=expected_version(body)))
    return with_etag(to_json(customer), customer.version)


@blueprint.get("/v1/pool")
def list_pool() -> Response:
    reply = call(_customers().ListPool, pb.ListPoolRequest(page_size=page_size(),
                                                           cursor=request.args.get("cursor", "")))
    return jsonify(page([to_json(c) for c in reply.customers], reply.next_cursor))


@blueprint.post("/v1/pool/<customer_id>/claim")
def claim_customer(customer_id: str) -> tuple[Response, int]:
    customer = call(_customers().ClaimCustomer, pb.ClaimCustomerRequest(id=customer_id))
    return with_etag(to_json(customer), customer.version)


# --- imports, pool policies, contact updates -----------------------------------------------------

IMPORT_FORMATS = {"text/csv": "csv",
                  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx"}
IMPORT_CHUNK_BYTES = 1 << 20  # the body streams through in pieces of this size, never whole in memory


@blueprint.post("/v1/customers/imports")
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


@blueprint.get("/v1/customers/imports/<job_id>")
def get_import(job_id: str) -> Response:
    return jsonify(to_json(call(_customers().GetImport, pb.GetImportRequest(
        id=job_id, page_size=page_size(), cursor=request.args.get("cursor", "")))))


@blueprint.get("/v1/pool-policies/<unit_id>")
def get_pool_policy(unit_id: str) -> Response:
    return jsonify(to_json(call(_customers().GetPoolPolicy, pb.GetPoolPolicyRequest(unit_id=unit_id))))


@blueprint.put("/v1/pool-policies/<unit_id>")
def put_pool_policy(unit_id: str) -> Response:
    body = json_body()
    return jsonify(to_json(call(_customers().PutPoolPolicy, from_json(pb.PoolPolicy, body, unit_id=unit_id))))


@blueprint.patch("/v1/customers/<customer_id>/contacts/<contact_id>")
def update_contact(customer_id: str, contact_id: str) -> Response:
    body = json_body()
    if "phones" in body:
        body["set_phones"] = True
    return jsonify(to_json(call(_customers().UpdateContact, from_json(
        pb.UpdateContactRequest, body, customer_id=customer_id, contact_id=contact_id))))


ADDRESS = obj(["text"], text=STRING, latitude={"type": "number"}, longitude={"type": "number"})
TIER = {"enum": ["key", "normal", "potential"]}
CUSTOMER = obj(id=STRING, legal_name=STRING, credit_code=STRING, industry=STRING, address=ADDRESS, tier=TIER,
               tags=STRINGS, source=STRING, owner_id=STRING, org_path=STRING, version=INTEGER,
               created_at=STRING, updated_at=STRING, created_by=STRING, custom_fields=CUSTOM_FIELDS)
MATCH = obj(customer_id=STRING, legal_name=STRING, owner_id=STRING,
            reason={"enum": ["same_credit_code", "same_normalised_name", "similar_name"]}, score={"type": "number"})
CONTACT = obj(id=STRING, customer_id=STRING, full_name=STRING, title=STRING, phones=STRINGS, email=STRING,
              primary=BOOLEAN, custom_fields=CUSTOM_FIELDS)
SHARES = obj(items={"type": "array", "items": obj(user_id=STRING, role={"enum": ["co_owner", "collaborator"]})})

ARBITRATION = obj(id=STRING, customer_ids=STRINGS, rep_ids=STRINGS, winner_rep_id=STRING, winner_customer_id=STRING,
                  rule={"enum": ["registered_name", "first_follow_up", "first_opportunity", "undecided"]},
                  reason=STRING, steps={"type": "array", "items": obj(rule=STRING, compared={"type": "object"},
                                                                       remaining=STRINGS)},
                  decided_at=STRING, decided_by=STRING)


def describe(api: OpenApi) -> None:
    t = "customers"
    cid = [path_param("customer_id")]
    api.operation("/v1/customers", "post", "Create a customer (duplicate check: an exact match blocks with 409 "
                  "naming the owner; near matches come back as duplicate_warnings)", tag=t, status=201,
                  response=CUSTOMER, request=obj(["legal_name"], legal_name=STRING, credit_code=STRING,
                                                 industry=STRING, address=ADDRESS, tier=TIER, tags=STRINGS,
                                                 source=STRING, owner_id=STRING, custom_fields=CUSTOM_FIELDS))
    api.operation("/v1/customers", "get", "List customers in scope (cursor paging; sort: newest, name, "
                  "recently_updated)", tag=t,
                  parameters=[query_param("owner_id"), query_param("tier"), query_param("q"), query_param("tag"),
                              query_param("industry"), query_param("unit_id"), query_param("updated_since"),
                              query_param("sort", {"enum": ["newest", "name", "recently_updated"]}),
                              query_param("limit", INTEGER), query_param("cursor")],
                  response=obj(["items"], items={"type": "array", "items": CUSTOMER},
                               next_cursor={"type": ["string", "null"]}))
    document_filters(api, "/v1/customers")
    api.operation("/v1/customers/{customer_id}", "get", "Read a customer (ETag = version)", tag=t,
                  response=CUSTOMER, parameters=cid)
    api.operation("/v1/customers/{customer_id}", "patch", "Update a customer (If-Match: version)", tag=t,
                  response=CUSTOMER, parameters=cid, request=obj(
                      legal_name=STRING, credit_code=STRING, industry=STRING, address=ADDRESS, tier=TIER,
                      tags=STRINGS, source=STRING, version=INTEGER, custom_fields=CUSTOM_FIELDS))
    api.operation("/v1/customers/duplicate-check", "post", "Check a name and credit code for duplicates", tag=t,
                  response=obj(blocking={"type": "array", "items": MATCH}, warnings={"type": "array", "items": MATCH}),
                  request=obj(["legal_name"], legal_name=STRING, credit_code=STRING, exclude_customer_id=STRING))
    api.operation("/v1/customers/{customer_id}/overview", "get", "Customer 360: contacts, follow-ups, open "
                  "opportunities, contracts, collected and outstanding amounts per currency (kept from events)",
                  tag=t, parameters=cid)
    api.operation("/v1/customers/{customer_id}/contacts", "get", "List a customer's contacts", tag=t, parameters=cid)
    api.operation("/v1/customers/{customer_id}/contacts", "post", "Add a contact (a new primary demotes the old)",
                  tag=t, status=201, response=CONTACT, parameters=cid, request=obj(
                      ["full_name"], full_name=STRING, title=STRING, phones=STRINGS, email=STRING, primary=BOOLEAN,
                      custom_fields=CUSTOM_FIELDS))
    api.operation("/v1/customers/{customer_id}/shares", "get", "List co-owners and collaborators", tag=t,
                  response=SHARES, parameters=cid)
    api.operation("/v1/customers/{customer_id}/shares", "post", "Share with a co-owner or read-only collaborator "
                  "(owner or his manager)", tag=t, response=SHARES, parameters=cid,
                  request=obj(["user_id", "role"], user_id=STRING, role={"enum": ["co_owner", "collaborator"]}))
    api.operation("/v1/customers/{customer_id}/shares/{user_id}", "delete", "Stop sharing with a user", tag=t,
                  response=SHARES, parameters=[*cid, path_param("user_id")])
    api.operation("/v1/customers/{customer_id}/release", "post", "Release a customer to the public pool", tag=t,
                  response=CUSTOMER, parameters=cid, request=obj(reason=STRING))
    api.operation("/v1/customers/arbitration", "post", "Arbitrate ownership of near-duplicate customers held by "
                  "different reps (registered name, then first follow-up, then first opportunity); recorded "
                  "and both reps notified", tag=t, status=201, response=ARBITRATION,
                  request=obj(["customer_ids", "registered_name"], customer_ids=STRINGS, registered_name=STRING))
    api.operation("/v1/customers/merge", "post", "Merge duplicates into a survivor (contacts kept, shares united, "
                  "duplicates deactivated; If-Match: the survivor's version, optional)", tag=t, response=CUSTOMER,
                  request=obj(["survivor_id", "duplicate_ids"], survivor_id=STRING, duplicate_ids=STRINGS))
    api.operation("/v1/customers/{customer_id}/deactivate", "post", "Deactivate a customer (If-Match: version)",
                  tag=t, response=CUSTOMER, parameters=cid)
    api.operation("/v1/pool", "get", "List the public pool (cursor paging)", tag=t,
                  parameters=[query_param("limit", INTEGER), query_param("cursor")])
    api.operation("/v1/pool/{customer_id}/claim", "post", "Claim a pool customer (caps, cool-down; one of "
                  "concurrent claimants wins, the others get 422)", tag=t, response=CUSTOMER, parameters=cid)
    pool_policy = obj(unit_id=STRING, max_customers_per_rep=INTEGER, max_claims_per_day=INTEGER,
                      reclaim_cooldown_days=INTEGER, return_after_days_without_follow_up=INTEGER,
                      return_after_days_without_opportunity=INTEGER, return_after_days_without_deal=INTEGER,
                      warning_days_before=INTEGER, inherited=BOOLEAN, source_unit_id=STRING)
    api.operation("/v1/customers/imports", "post", "Import customers from a CSV or XLSX body (202 + job): rows are "
                  "created asynchronously under the same validation, duplicate and permission rules", tag=t,
                  status=202)
    api.operation("/v1/customers/imports/{job_id}", "get", "Import progress and per-row errors (cursor paging)",
                  tag=t, parameters=[path_param("job_id"), query_param("limit", INTEGER), query_param("cursor")])
    api.operation("/v1/pool-policies/{unit_id}", "get", "The public-pool policy in force for a unit (inherited "
                  "from the nearest ancestor when it has none)", tag=t, response=pool_policy,
                  parameters=[path_param("unit_id")])
    api.operation("/v1/pool-policies/{unit_id}", "put", "Set a unit's public-pool policy", tag=t,
                  request=pool_policy, response=pool_policy, parameters=[path_param("unit_id")])
    api.operation("/v1/customers/{customer_id}/contacts/{contact_id}", "patch", "Update a contact", tag=t,
                  parameters=[path_param("customer_id"), path_param("contact_id")],
                  request=obj(full_name=STRING, title=STRING, phones=STRINGS, email=STRING, primary=BOOLEAN,
                              custom_fields=CUSTOM_FIELDS))
