"""/v1/opportunities (+ advance, regress, won, lost, history), /v1/leads, /v1/lead-pool,
/v1/gate-violations, /v1/forecast, /v1/stage-models, /v1/quotes (+ special-discount approval,
特批折扣), /v1/quote-approvals, /v1/org-units/{id}/discount-policy, /v1/lead-assignment-rules: the
pipeline service. Money travels as {"amount": "<decimal string>", "currency": "CNY"}."""

from __future__ import annotations

from salesgrid.pipeline.v1 import pipeline_pb2 as pb

from salesgrid_gateway.rest.table import Service
from salesgrid_gateway.rest.uploads import import_route

api = Service(pb, "Pipeline", "pipeline_addr", tag="pipeline")
approvals = Service(pb, "QuoteApprovals", "pipeline_addr", tag="pipeline")


OPP, L, Q = "/v1/opportunities/{opportunity_id}", "/v1/leads/{lead_id}", "/v1/quotes/{quote_id}"
# fmt: off
ROUTES = [
    api.post("/v1/opportunities", "CreateOpportunity", "Create an opportunity (name unique per customer)", status=201),
    api.get("/v1/opportunities", "ListOpportunities", "List opportunities in scope", items="opportunities"),
    api.get(OPP, "GetOpportunity", "Read an opportunity"),
    api.patch(OPP, "UpdateOpportunity", "Change amount, expected close date or the forecast commit flag (If-Match required)", if_match="required"),
    api.post(OPP + "/advance", "AdvanceOpportunity", "Advance through the stage gates (rejections are recorded as gate violations)"),
    api.post(OPP + "/regress", "RegressOpportunity", "Move back to an earlier stage"),
    api.post(OPP + "/won", "WinOpportunity", "Close as won (award notice gate)"),
    api.post(OPP + "/lost", "LoseOpportunity", "Close as lost with a reason"),
    api.get(OPP + "/history", "ListStageHistory", "Stage history (who, when, from, to, facts)", items="changes"),
    api.get("/v1/gate-violations", "ListGateViolations", "Rejected advances (虚假推进 attempts) in scope, per rep", items="violations"),
    api.get("/v1/forecast", "GetForecast", "Forecast by close month: count, amount, weighted, commit, best case", items="buckets"),
    api.get("/v1/stage-models", "ListStageModels", "Stage models, one per business line", items="models"),
    api.put("/v1/stage-models/{code}", "PutStageModel", "Create or replace a business line's stage model (stage_models:update); validated as a whole", body="model", rename={"code": "model.code"}),
    api.get("/v1/stage-models/{code}", "GetStageModel", "Read a stage model"),
    api.post("/v1/quotes", "CreateQuote", "Issue a quote version for an opportunity (supersedes the current one); lines priced from the product catalogue", status=201),
    api.get("/v1/quotes", "ListQuotes", "Every version of an opportunity's quote", items="quotes"),
    api.post(Q + "/accept", "AcceptQuote", "Accept the current quote version; with `contract` the contract draft is created through the contracts service (its id in contract_id)", optional_body=True),
    approvals.post(Q + "/discount-approval/approve", "DecideQuoteDiscount", "Approve the special discount (特批折扣) of a quote: the current approver's step (quotes:approve)", optional_body=True, fixed={"approve": True}),
    approvals.post(Q + "/discount-approval/reject", "DecideQuoteDiscount", "Reject the special discount of a quote (comment required); the quote cannot be accepted", optional_body=True, fixed={"approve": False}),
    approvals.get("/v1/quote-approvals", "ListPendingQuoteApprovals", "Quotes whose special discount waits on the caller's decision", items="quotes"),
    approvals.get("/v1/org-units/{org_unit_id}/discount-policy", "GetDiscountPolicy", "The special-discount thresholds in force for a unit (its own, inherited, or the default)"),
    approvals.put("/v1/org-units/{org_unit_id}/discount-policy", "SetDiscountPolicy", "Set a unit's special-discount thresholds (org_units:update); its subtree inherits them"),
    api.get("/v1/lead-assignment-rules", "GetLeadAssignmentRules", "The lead assignment rule table (leads:assign, subtree or all)"),
    api.put("/v1/lead-assignment-rules", "PutLeadAssignmentRules", "Replace the lead assignment rules: by region / industry to a rep, or round robin in a team"),
    api.post("/v1/leads", "CreateLead", "Create a lead (in the pool, or assigned with assign_to)", status=201),
    import_route(api, "/v1/leads/imports", "StartLeadImport", "Import leads from a CSV or XLSX body (202 + job; columns company_name, contact_name, phone, email, region, industry, source, estimated_amount, currency, assign_to, cf_<custom field key>): rows are created asynchronously, each like POST /v1/leads (validation, scope, assignment rules); refused rows are reported with their column", location="/v1/leads/imports/{job_id}"),
    api.get("/v1/leads/imports/{job_id}", "GetLeadImport", "Lead import progress and per-row errors (paged: limit, cursor, next_cursor)", paged=True),
    api.get("/v1/leads", "ListLeads", "List leads in scope (status=pool for the pool)", items="leads"),
    api.get(L, "GetLead", "Read a lead"),
    api.post(L + "/assign", "AssignLead", "Assign a lead to a rep"),
    api.post(L + "/claim", "ClaimLead", "Claim a lead from the pool", body=""),
    api.post("/v1/lead-pool/{lead_id}/claim", "ClaimLead", "Claim a lead from the pool", body=""),
    api.post(L + "/convert", "ConvertLead", "Convert an assigned lead: customer (through customers, with its duplicate check) + opportunity", status=201),
    api.get("/v1/lead-pool", "ListLeads", "The lead pool visible to the caller", items="leads", fixed={"status": "pool"}),
    api.post(L + "/close", "CloseLead", "Close a lead as invalid with a reason"),
]
# fmt: on
