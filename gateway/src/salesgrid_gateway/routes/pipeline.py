"""/v1/opportunities (+ advance, regress, won, lost, history), /v1/leads, /v1/lead-pool,
/v1/gate-violations, /v1/forecast, /v1/stage-models, /v1/quotes (+ special-discount approval,
特批折扣), /v1/quote-approvals, /v1/org-units/{id}/discount-policy, /v1/lead-assignment-rules: the
pipeline service. Money travels as {"amount": "<decimal string>", "currency": "CNY"}."""

from __future__ import annotations

import csv
import io

from flask import Response, jsonify, request
from salesgrid.pipeline.v1 import pipeline_pb2 as pb

from salesgrid_gateway.clients import call, stub
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.rest.table import Service, view
from salesgrid_gateway.routes.custom_fields import FILTER_PREFIX

api = Service(pb, "Pipeline", "pipeline_addr", tag="pipeline")
approvals = Service(pb, "QuoteApprovals", "pipeline_addr", tag="pipeline")


def _pipeline():  # type: ignore[no-untyped-def]
    return stub(api.stub_class, api.address_setting)


IMPORT_MAX_ROWS = 5000
IMPORT_BATCH_ROWS = 500
IMPORT_COLUMNS = (
    "company_name",
    "contact_name",
    "phone",
    "email",
    "region",
    "industry",
    "source",
    "estimated_amount",
    "currency",
    "assign_to",
)


def import_leads() -> Response:
    """A CSV file of leads (text/csv, header row first), created synchronously in batches; each row
    on its own like POST /v1/leads. Rows are numbered from 1 after the header."""
    if request.mimetype != "text/csv":
        raise ApiProblem(415, "send the leads as a CSV body with Content-Type: text/csv")
    try:
        text = request.get_data().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiProblem(
            400, "the CSV file is not UTF-8 text", errors=[{"field": "body", "message": "not UTF-8"}]
        ) from None
    try:
        records = [r for r in csv.reader(io.StringIO(text, newline="")) if any(cell.strip() for cell in r)]
    except csv.Error as error:
        raise ApiProblem(
            400, f"the CSV file cannot be read: {error}", errors=[{"field": "body", "message": str(error)}]
        ) from None
    if not records:
        raise ApiProblem(
            400, "the CSV file is empty: it needs a header row", errors=[{"field": "header", "message": "missing"}]
        )
    header = [name.strip().lower() for name in records[0]]
    unknown = [name for name in header if name not in IMPORT_COLUMNS and not name.startswith(FILTER_PREFIX)]
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if unknown or duplicates or "company_name" not in header:
        problems = (
            [{"field": "header", "message": f"unknown column {name!r}"} for name in unknown]
            + [{"field": "header", "message": f"column {name!r} appears twice"} for name in duplicates]
            + ([] if "company_name" in header else [{"field": "header", "message": "company_name is required"}])
        )
        raise ApiProblem(
            400,
            f"the header row must name columns among {', '.join(IMPORT_COLUMNS)} or {FILTER_PREFIX}<custom field key>",
            errors=problems,
        )
    data = records[1:]
    if len(data) > IMPORT_MAX_ROWS:
        raise ApiProblem(
            413,
            f"an import holds at most {IMPORT_MAX_ROWS} rows; this file has {len(data)}: split it",
            errors=[{"field": "body", "message": f"at most {IMPORT_MAX_ROWS} rows"}],
        )
    errors: list[dict] = []
    numbered: list[tuple[int, pb.CreateLeadRequest]] = []
    for number, cells in enumerate(data, start=1):
        if len(cells) != len(header):
            errors.append(
                {"row": number, "column": "", "message": f"has {len(cells)} fields, the header {len(header)}"}
            )
            continue
        values = {name: cell.strip() for name, cell in zip(header, cells)}
        amount, currency = values.pop("estimated_amount", ""), values.pop("currency", "")
        custom = {
            name.removeprefix(FILTER_PREFIX): values.pop(name)
            for name in list(values)
            if name.startswith(FILTER_PREFIX)
        }
        lead = pb.CreateLeadRequest(**values)
        lead.custom_fields.update({key: text for key, text in custom.items() if text})  # empty: no value
        if amount or currency:
            lead.estimated_amount.CopyFrom(pb.PipelineMoney(amount=amount, currency=currency))
        numbered.append((number, lead))
    created: list[str] = []
    for start in range(0, len(numbered), IMPORT_BATCH_ROWS):
        batch = numbered[start : start + IMPORT_BATCH_ROWS]
        reply = call(_pipeline().ImportLeads, pb.ImportLeadsRequest(rows=[lead for _, lead in batch]))
        created.extend(reply.created_lead_ids)
        errors.extend({"row": batch[e.row - 1][0], "column": e.column, "message": e.message} for e in reply.errors)
    errors.sort(key=lambda e: e["row"])
    return jsonify({"rows": len(data), "created": len(created), "created_lead_ids": created, "errors": errors})


STRING = {"type": "string"}
IMPORTED = {
    "type": "object",
    "properties": {
        "rows": {"type": "integer"},
        "created": {"type": "integer"},
        "created_lead_ids": {"type": "array", "items": STRING},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"row": {"type": "integer"}, "column": STRING, "message": STRING},
            },
        },
    },
}
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
    view("POST", "/v1/leads/imports", import_leads, "Import leads from a CSV body (text/csv; columns company_name, contact_name, phone, email, region, industry, source, estimated_amount, currency, assign_to), at most 5000 rows (413 beyond); each row created like POST /v1/leads; per-row errors reported", tag="pipeline", request_types=("text/csv",), errors=(413,), response_schema=IMPORTED),
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
