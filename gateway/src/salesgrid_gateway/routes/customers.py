"""/v1/customers (contacts, shares, share requests, partner profiles, release, duplicate check,
merge, imports), /v1/pool (+ standing), /v1/pool-policies and /v1/partners: the customers service.
Channel and partner performance is /v1/analytics/channels."""

from __future__ import annotations

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import partners_pb2, pool_standing_pb2, share_requests_pb2
from salesgrid_gateway.rest.table import Service
from salesgrid_gateway.rest.uploads import import_route

api = Service(pb, "Customers", "customers_addr", tag="customers")
partners = Service(partners_pb2, "ChannelPartners", "customers_addr", tag="customers")
standing = Service(pool_standing_pb2, "PoolStanding", "customers_addr", tag="customers")
shares = Service(share_requests_pb2, "ShareRequests", "customers_addr", tag="customers")


C, SR = "/v1/customers/{customer_id}", "/v1/share-requests/{request_id}"
# fmt: off
ROUTES = [
    api.post("/v1/customers", "CreateCustomer", "Create a customer (duplicate check: an exact match blocks with 409 naming the owner; near matches come back as duplicate_warnings)", status=201, result="customer", also={"duplicate_warnings": "warnings"}),
    api.get("/v1/customers", "ListCustomers", "List customers in scope (sort: newest, name, recently_updated; updated_since: RFC 3339)", items="customers", rename={"q": "query"}, audit=("customers.list", "customers")),
    api.get(C, "GetCustomer", "Read a customer (ETag = version)"),
    api.patch(C, "UpdateCustomer", "Update a customer (If-Match: version)", if_match="required"),
    api.post("/v1/customers/duplicate-check", "CheckDuplicates", "Check a name and credit code for duplicates"),
    api.get(C + "/overview", "GetOverview", "Customer 360: contacts, follow-ups, open opportunities, contracts, collected and outstanding amounts per currency (kept from events)"),
    api.get(C + "/contacts", "ListContacts", "List a customer's contacts", items="contacts"),
    api.post(C + "/contacts", "AddContact", "Add a contact (a new primary demotes the old)", status=201),
    api.patch(C + "/contacts/{contact_id}", "UpdateContact", "Update a contact"),
    api.get(C + "/shares", "ListShares", "List co-owners and collaborators", items="shares"),
    api.post(C + "/shares", "ShareCustomer", "Share with a co-owner or read-only collaborator (owner or his manager)", items="shares"),
    api.delete(C + "/shares/{user_id}", "UnshareCustomer", "Stop sharing with a user", items="shares"),
    api.post(C + "/release", "ReleaseCustomer", "Release a customer to the public pool", optional_body=True),
    api.post("/v1/customers/arbitration", "Arbitrate", "Arbitrate ownership of near-duplicate customers held by different reps (registered name, then first follow-up, then first opportunity); recorded and both reps notified", status=201),
    api.post("/v1/customers/merge", "MergeCustomers", "Merge duplicates into a survivor (contacts kept, shares united, duplicates deactivated; If-Match: the survivor's version, optional)", result="customer", also={"merged_ids": "merged_ids", "dropped_tags": "dropped_tags"}),
    api.post(C + "/deactivate", "DeactivateCustomer", "Deactivate a customer (If-Match)", body="", if_match="required"),
    api.get("/v1/pool", "ListPool", "List the public pool", items="customers"),
    api.post("/v1/pool/{customer_id}/claim", "ClaimCustomer", "Claim a pool customer (caps, cool-down; one of concurrent claimants wins, the others get 422)", body=""),
    import_route(api, "/v1/customers/imports", "StartImport", "Import customers from a CSV or XLSX body (202 + job): rows are created asynchronously under the same validation, duplicate and permission rules", location="/v1/customers/imports/{job_id}"),
    api.get("/v1/customers/imports/{job_id}", "GetImport", "Import progress and per-row errors (paged: limit, cursor, next_cursor)", paged=True),
    api.get("/v1/pool-policies/{unit_id}", "GetPoolPolicy", "The public-pool policy in force for a unit (inherited from the nearest ancestor when it has none)"),
    api.put("/v1/pool-policies/{unit_id}", "PutPoolPolicy", "Set a unit's public-pool policy"),
    standing.get("/v1/pool/standing", "GetMyPoolStanding", "The public-pool policy in force for the caller (his unit's or the nearest ancestor's), his customers held and claims today against its caps (customers_left, claims_left_today absent: no cap), and the pool customers he released that he may not claim back yet (pool:read; only about the caller)"),
    partners.put(C + "/partner-profile", "SetPartnerProfile", "Make an account a channel partner (agent or distributor) with its partner tier and partner agreement (a contract of the account), or end the partnership with an empty channel", if_match="required"),
    partners.get("/v1/partners", "ListPartners", "Channel partners in the caller's customer scope (cursor paging)", items="customers"),
    shares.post(C + "/share-requests", "RequestShare", "Ask the owner of a customer (e.g. a blocking duplicate) to share it with you", status=201, optional_body=True),
    shares.get("/v1/share-requests", "ListShareRequests", "Share requests to decide (box=incoming) or made (box=outgoing)", items="requests"),
    shares.get(SR, "GetShareRequest", "Read a share request (requester, owner, manager)"),
    shares.post(SR + "/accept", "DecideShareRequest", "Accept: the customer is shared with the requester (owner or his manager)", optional_body=True, fixed={"accept": True}),
    shares.post(SR + "/decline", "DecideShareRequest", "Decline a share request (owner or his manager)", optional_body=True, fixed={"accept": False}),
]
# fmt: on
