"""/v1/opportunities (+ advance, regress, won, lost, history), /v1/leads, /v1/gate-violations,
/v1/forecast, /v1/stage-models, /v1/quotes, /v1/lead-assignment-rules. Money travels as {"amount": "<decimal string>", "currency": "CNY"}."""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, jsonify, request
from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as pb_grpc

from salesgrid_gateway.clients import call, from_json, stub, to_json
from salesgrid_gateway.openapi import (
    INTEGER,
    STRING,
    OpenApi,
    obj,
    path_param,
    query_param,
)
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.routes.custom_fields import CUSTOM_FIELDS_REF as CUSTOM_FIELDS
from salesgrid_gateway.routes.custom_fields import FILTER_PREFIX, custom_field_filters, document_filters
from salesgrid_gateway.routes.common import (
    expected_version,
    json_body,
    page,
    page_size,
    require_fields,
    with_etag,
)

blueprint = Blueprint("pipeline", __name__)


def _pipeline() -> pb_grpc.PipelineStub:
    return stub(pb_grpc.PipelineStub, "pipeline_addr")


def _opportunity(reply: pb.Opportunity, status: int = 200) -> tuple[Response, int]:
    return with_etag(to_json(reply), reply.version, status)


# --- opportunities ------------------------------------------------------------------------------

@blueprint.post("/v1/opportunities")
def create_opportunity() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "customer_id", "name", "amount", "expected_close_date")
    return _opportunity(call(_pipeline().CreateOpportunity, from_json(pb.CreateOpportunityRequest, body)), 201)


@blueprint.get("/v1/opportunities")
def list_opportunities() -> Response:
    reply = call(_pipeline().ListOpportunities, pb.ListOpportunitiesRequest(
        owner_id=request.args.get("owner_id", ""), customer_id=request.args.get("customer_id", ""),
        status=request.args.get("status", ""), stage=request.args.get("stage", ""), page_size=page_size(),
        page_token=request.args.get("cursor", ""), custom_fields=custom_field_filters()))
    return jsonify(page([to_json(o) for o in reply.opportunities], reply.next_page_token))


@blueprint.get("/v1/opportunities/<opportunity_id>")
def get_opportunity(opportunity_id: str) -> tuple[Response, int]:
    return _opportunity(call(_pipeline().GetOpportunity, pb.GetOpportunityRequest(id=opportunity_id)))


@blueprint.patch("/v1/opportunities/<opportunity_id>")
def update_opportunity(opportunity_id: str) -> tuple[Response, int]:
    body = json_body()
    version = expected_version(body)
    return _opportunity(call(_pipeline().UpdateOpportunity, from_json(
        pb.UpdateOpportunityRequest, body, id=opportunity_id, expected_version=version)))


@blueprint.post("/v1/opportunities/<opportunity_id>/advance")
def advance_opportunity(opportunity_id: str) -> tuple[Response, int]:
    body = json_body()
    version = expected_version(body, required=False)
    return _opportunity(call(_pipeline().AdvanceOpportunity, from_json(
        pb.AdvanceOpportunityRequest, body, id=opportunity_id, expected_version=version)))


@blueprint.post("/v1/opportunities/<opportunity_id>/regress")
def regress_opportunity(opportunity_id: str) -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "target_stage", "reason")
    version = expected_version(body, required=False)
    return _opportunity(call(_pipeline().RegressOpportunity, from_json(
        pb.RegressOpportunityRequest, body, id=opportunity_id, expected_version=version)))


@blueprint.post("/v1/opportunities/<opportunity_id>/won")
def win_opportunity(opportunity_id: str) -> tuple[Response, int]:
    body = json_body()
    version = expected_version(body, required=False)
    return _opportunity(call(_pipeline().WinOpportunity, from_json(
        pb.WinOpportunityRequest, body, id=opportunity_id, expected_version=version)))


@blueprint.post("/v1/opportunities/<opportunity_id>/lost")
def lose_opportunity(opportunity_id: str) -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "reason")
    version = expected_version(body, required=False)
    return _opportunity(call(_pipeline().LoseOpportunity, from_json(
        pb.LoseOpportunityRequest, body, id=opportunity_id, expected_version=version)))


@blueprint.get("/v1/opportunities/<opportunity_id>/history")
def opportunity_history(opportunity_id: str) -> Response:
    reply = call(_pipeline().ListStageHistory, pb.ListStageHistoryRequest(opportunity_id=opportunity_id))
    return jsonify(page([to_json(c) for c in reply.changes], ""))


@blueprint.get("/v1/gate-violations")
def list_gate_violations() -> Response:
    reply = call(_pipeline().ListGateViolations, pb.ListGateViolationsRequest(
        actor_id=request.args.get("actor_id", ""), opportunity_id=request.args.get("opportunity_id", ""),
        page_size=page_size(), page_token=request.args.get("cursor", "")))
    return jsonify(page([to_json(v) for v in reply.violations], reply.next_page_token))


@blueprint.get("/v1/forecast")
def get_forecast() -> Response:
    reply = call(_pipeline().GetForecast, pb.GetForecastRequest(
        group_by=request.args.get("group_by", ""), subtree=request.args.get("subtree", "")))
    return jsonify(page([to_json(b) for b in reply.buckets], ""))


@blueprint.get("/v1/stage-models")
def list_stage_models() -> Response:
    reply = call(_pipeline().ListStageModels, pb.ListStageModelsRequest())
    return jsonify(page([to_json(m) for m in reply.models], ""))


@blueprint.put("/v1/stage-models/<code>")
def put_stage_model(code: str) -> Response:
    body = json_body()
    require_fields(body, "name", "entry_stage", "stages")
    model = from_json(pb.StageModel, body, code=code)
    return jsonify(to_json(call(_pipeline().PutStageModel, pb.PutStageModelRequest(model=model))))


@blueprint.get("/v1/stage-models/<code>")
def get_stage_model(code: str) -> Response:
    return jsonify(to_json(call(_pipeline().GetStageModel, pb.GetStageModelRequest(code=code))))


# --- quotes ------------------------------------------------------------------------------------

@blueprint.post("/v1/quotes")
def create_quote() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "opportunity_id", "lines")
    return jsonify(to_json(call(_pipeline().CreateQuote, from_json(pb.CreateQuoteRequest, body)))), 201


@blueprint.get("/v1/quotes")
def list_quotes() -> Response:
    require_fields(request.args.to_dict(), "opportunity_id")
    reply = call(_pipeline().ListQuotes, pb.ListQuotesRequest(opportunity_id=request.args["opportunity_id"]))
    return jsonify(page([to_json(q) for q in reply.quotes], ""))


@blueprint.post("/v1/quotes/<quote_id>/accept")
def accept_quote(quote_id: str) -> Response:
    """An optional {"contract": {branch_code, start_date, end_date, terms}} starts the contract draft."""
    body = json_body() if request.get_data() else {}
    return jsonify(to_json(call(_pipeline().AcceptQuote, from_json(pb.AcceptQuoteRequest, body, id=quote_id))))


# --- leads -------------------------------------------------------------------------------------

@blueprint.get("/v1/lead-assignment-rules")
def get_lead_assignment_rules() -> Response:
    return jsonify(to_json(call(_pipeline().GetLeadAssignmentRules, pb.GetLeadAssignmentRulesRequest())))


@blueprint.put("/v1/lead-assignment-rules")
def put_lead_assignment_rules() -> Response:
    body = json_body()
    if not isinstance(body.get("rules"), list):  # an empty list is valid: it clears the table
        require_fields(body, "rules")
    return jsonify(to_json(call(_pipeline().PutLeadAssignmentRules,
                                from_json(pb.PutLeadAssignmentRulesRequest, body))))


@blueprint.post("/v1/leads")
def create_lead() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "company_name")
    return jsonify(to_json(call(_pipeline().CreateLead, from_json(pb.CreateLeadRequest, body)))), 201


IMPORT_MAX_ROWS = 5000
IMPORT_BATCH_ROWS = 500
IMPORT_COLUMNS = ("company_name", "contact_name", "phone", "email", "region", "industry", "source",
                  "estimated_amount", "currency", "assign_to")


@blueprint.post("/v1/leads/imports")
def import_leads() -> Response:
    """A CSV file of leads (text/csv, header row first), created synchronously in batches; each row
    on its own like POST /v1/leads. Rows are numbered from 1 after the header."""
    if request.mimetype != "text/csv":
        raise ApiProblem(415, "send the leads as a CSV body with Content-Type: text/csv")
    try:
        text = request.get_data().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiProblem(400, "the CSV file is not UTF-8 text", errors=[{"field": "body", "message": "not UTF-8"}]) from None
    try:
        records = [r for r in csv.reader(io.StringIO(text, newline="")) if any(cell.strip() for cell in r)]
    except csv.Error as error:
        raise ApiProblem(400, f"the CSV file cannot be read: {error}",
                         errors=[{"field": "body", "message": str(error)}]) from None
    if not records:
        raise ApiProblem(400, "the CSV file is empty: it needs a header row", errors=[{"field": "header", "message": "missing"}])
    header = [name.strip().lower() for name in records[0]]
    unknown = [name for name in header if name not in IMPORT_COLUMNS and not name.startswith(FILTER_PREFIX)]
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if unknown or duplicates or "company_name" not in header:
        problems = ([{"field": "header", "message": f"unknown column {name!r}"} for name in unknown]
                    + [{"field": "header", "message": f"column {name!r} appears twice"} for name in duplicates]
                    + ([] if "company_name" in header else [{"field": "header", "message": "company_name is required"}]))
        raise ApiProblem(400, f"the header row must name columns among {', '.join(IMPORT_COLUMNS)} or "
                              f"{FILTER_PREFIX}<custom field key>", errors=problems)
    data = records[1:]
    if len(data) > IMPORT_MAX_ROWS:
        raise ApiProblem(413, f"an import holds at most {IMPORT_MAX_ROWS} rows; this file has {len(data)}: split it",
                         errors=[{"field": "body", "message": f"at most {IMPORT_MAX_ROWS} rows"}])
    errors: list[dict] = []
    numbered: list[tuple[int, pb.CreateLeadRequest]] = []
    for number, cells in enumerate(data, start=1):
        if len(cells) != len(header):
            errors.append({"row": number, "column": "", "message": f"has {len(cells)} fields, the header {len(header)}"})
            continue
        values = {name: cell.strip() for name, cell in zip(header, cells)}
        amount, currency = values.pop("estimated_amount", ""), values.pop("currency", "")
        custom = {name.removeprefix(FILTER_PREFIX): values.pop(name) for name in list(values)
                  if name.startswith(FILTER_PREFIX)}
        lead = pb.CreateLeadRequest(**values)
        lead.custom_fields.update({key: text for key, text in custom.items() if text})  # empty: no value
        if amount or currency:
            lead.estimated_amount.CopyFrom(pb.PipelineMoney(amount=amount, currency=currency))
        numbered.append((number, lead))
    created: list[str] = []
    for start in range(0, len(numbered), IMPORT_BATCH_ROWS):
        batch = numbered[start:start + IMPORT_BATCH_ROWS]
        reply = call(_pipeline().ImportLeads, pb.ImportLeadsRequest(rows=[lead for _, lead in batch]))
        created.extend(reply.created_lead_ids)
        errors.extend({"row": batch[e.row - 1][0], "column": e.column, "message": e.message} for e in reply.errors)
    errors.sort(key=lambda e: e["row"])
    return jsonify({"rows": len(data), "created": len(created), "created_lead_ids": created, "errors": errors})


@blueprint.get("/v1/leads")
def list_leads() -> Response:
    reply = call(_pipeline().ListLeads, pb.ListLeadsRequest(
        status=request.args.get("status", ""), owner_id=request.args.get("owner_id", ""), page_size=page_size(),
        page_token=request.args.get("cursor", ""), custom_fields=custom_field_filters()))
    return jsonify(page([to_json(lead) for lead in reply.leads], reply.next_page_token))


@blueprint.get("/v1/leads/<lead_id>")
def get_lead(lead_id: str) -> Response:
    return jsonify(to_json(call(_pipeline().GetLead, pb.GetLeadRequest(id=lead_id))))


@blueprint.post("/v1/leads/<lead_id>/assign")
def assign_lead(lead_id: str) -> Response:
    body = json_body()
    require_fields(body, "rep_id")
    return jsonify(to_json(call(_pipeline().AssignLead, pb.AssignLeadRequest(id=lead_id, rep_id=str(body["rep_id"])))))


@blueprint.post("/v1/leads/<lead_id>/claim")
@blueprint.post("/v1/lead-pool/<lead_id>/claim")
def claim_lead(lead_id: str) -> Response:
    return jsonify(to_json(call(_pipeline().ClaimLead, pb.ClaimLeadRequest(id=lead_id))))


@blueprint.post("/v1/leads/<lead_id>/convert")
def convert_lead(lead_id: str) -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "expected_close_date")
    return jsonify(to_json(call(_pipeline().ConvertLead, from_json(pb.ConvertLeadRequest, body, id=lead_id)))), 201


@blueprint.get("/v1/lead-pool")
def list_lead_pool() -> Response:
    reply = call(_pipeline().ListLeads, pb.ListLeadsRequest(status="pool", page_size=page_size(),
                                                           page_token=request.args.get("cursor", "")))
    return jsonify(page([to_json(lead) for lead in reply.leads], reply.next_page_token))


@blueprint.post("/v1/leads/<lead_id>/close")
def close_lead(lead_id: str) -> Response:
    body = json_body()
    require_fields(body, "reason")
    return jsonify(to_json(call(_pipeline().CloseLead, pb.CloseLeadRequest(id=lead_id, reason=str(body["reason"])))))


# --- OpenAPI -----------------------------------------------------------------------------------

MONEY = obj(["amount", "currency"], amount={"type": "string", "description": "decimal string"}, currency=STRING)
FACT = obj(["code"], code=STRING, amount=MONEY, date={"type": "string", "format": "date"}, text=STRING,
           organisations=obj(names={"type": "array", "items": STRING}),
           document=obj(["document_id"], document_id=STRING, file_name=STRING),
           visits=obj(visits={"type": "array", "items": obj(["activity_id", "kind"], activity_id=STRING,
                                                             kind={"enum": ["call", "email", "meeting", "visit"]})}))
FACTS = {"type": "array", "items": FACT, "description": "typed facts; set exactly one value field per fact"}
OPPORTUNITY = obj(id=STRING, customer_id=STRING, name=STRING, owner_id=STRING, org_path=STRING, amount=MONEY,
                  expected_close_date=STRING, stage=STRING, status=STRING, probability=INTEGER, facts=FACTS,
                  commit={"type": "boolean"}, version=STRING, channel=STRING, partner_id=STRING,
                  custom_fields=CUSTOM_FIELDS)
DECIMAL = {"type": "string", "description": "decimal string"}
QUOTE = obj(id=STRING, opportunity_id=STRING, version=INTEGER, currency=STRING, status=STRING, subtotal=DECIMAL,
            discount_total=DECIMAL, total=DECIMAL, lines={"type": "array", "items": obj(
                product_id=STRING, name=STRING, unit_price=DECIMAL, quantity=DECIMAL, discount_kind=STRING,
                discount_value=DECIMAL, gross=DECIMAL, discount=DECIMAL, net=DECIMAL)},
            discount_rate={"type": "string", "description": "the deepest line discount, per cent"},
            discount_approval={"enum": ["", "pending", "approved", "rejected"],
                               "description": "special-discount approval; empty: within the unit's threshold"},
            approval_steps={"type": "array", "items": obj(order=INTEGER, role=STRING, approver_id=STRING,
                                                          status=STRING, comment=STRING)})
RULES = obj(["rules"], rules={"type": "array", "items": obj(region=STRING, industry=STRING, rep_id=STRING,
                                                             team_id=STRING)})


def describe(api: OpenApi) -> None:
    t = "pipeline"
    opp = [path_param("opportunity_id")]
    api.operation("/v1/opportunities", "post", "Create an opportunity (name unique per customer)", tag=t, status=201,
                  response=OPPORTUNITY, request=obj(
                      ["customer_id", "name", "amount", "expected_close_date"], customer_id=STRING, name=STRING,
                      amount=MONEY, expected_close_date={"type": "string", "format": "date"}, owner_id=STRING,
                      competitors={"type": "array", "items": obj(["name"], name=STRING, strengths=STRING, price=MONEY)},
                      products={"type": "array", "items": obj(["product_id"], product_id=STRING, quantity=STRING)},
                      stage_model={"type": "string", "description": "business line's model code; empty: default"},
                      channel={"enum": ["direct", "agent", "distributor"], "description": "sales channel; default direct"},
                      partner_id={"type": "string", "description": "agent/distributor: an active partner of that "
                                                                   "channel (GET /v1/partners)"},
                      custom_fields=CUSTOM_FIELDS))
    api.operation("/v1/opportunities", "get", "List opportunities in scope (cursor paging)", tag=t, parameters=[
        query_param("owner_id"), query_param("customer_id"), query_param("status"), query_param("stage"),
        query_param("limit", INTEGER), query_param("cursor")])
    document_filters(api, "/v1/opportunities")
    api.operation("/v1/opportunities/{opportunity_id}", "get", "Read an opportunity", tag=t, response=OPPORTUNITY,
                  parameters=opp)
    api.operation("/v1/opportunities/{opportunity_id}", "patch",
                  "Change amount, expected close date or the forecast commit flag (If-Match required)", tag=t,
                  response=OPPORTUNITY, parameters=opp, request=obj(
                      amount=MONEY, expected_close_date={"type": "string", "format": "date"},
                      commit={"type": "boolean"}, custom_fields=CUSTOM_FIELDS))
    api.operation("/v1/quotes", "post", "Issue a quote version for an opportunity (supersedes the current one); "
                  "lines priced from the product catalogue", tag=t, status=201, response=QUOTE, request=obj(
                      ["opportunity_id", "lines"], opportunity_id=STRING, currency=STRING,
                      lines={"type": "array", "items": obj(["product_id"], product_id=STRING, quantity=DECIMAL,
                                                           discount_kind={"enum": ["percent", "amount"]},
                                                           discount_value=DECIMAL)}))
    api.operation("/v1/quotes", "get", "Every version of an opportunity's quote", tag=t,
                  parameters=[query_param("opportunity_id")])
    api.operation("/v1/quotes/{quote_id}/accept", "post", "Accept the current quote version; with `contract` the "
                  "contract draft is created through the contracts service (its id in contract_id)", tag=t,
                  response=QUOTE, parameters=[path_param("quote_id")], request=obj(contract=obj(
                      ["branch_code", "start_date", "end_date"], branch_code=STRING,
                      start_date={"type": "string", "format": "date"}, end_date={"type": "string", "format": "date"},
                      terms=STRING)))
    api.operation("/v1/leads/imports", "post", "Import leads from a CSV body (text/csv; columns company_name, "
                  "contact_name, phone, email, region, industry, source, estimated_amount, currency, assign_to), "
                  "at most 5000 rows (413 beyond); each row created like POST /v1/leads; per-row errors reported",
                  tag=t, response=obj(rows=INTEGER, created=INTEGER, created_lead_ids={"type": "array", "items": STRING},
                                      errors={"type": "array", "items": obj(row=INTEGER, column=STRING,
                                                                            message=STRING)}))
    api.operation("/v1/lead-assignment-rules", "get", "The lead assignment rule table (leads:assign, subtree or all)",
                  tag=t, response=RULES)
    api.operation("/v1/lead-assignment-rules", "put",
                  "Replace the lead assignment rules: by region / industry to a rep, or round robin in a team",
                  tag=t, response=RULES, request=RULES)
    api.operation("/v1/opportunities/{opportunity_id}/advance", "post",
                  "Advance through the stage gates (rejections are recorded as gate violations)", tag=t,
                  response=OPPORTUNITY, parameters=opp, request=obj(target_stage=STRING, facts=FACTS))
    api.operation("/v1/opportunities/{opportunity_id}/regress", "post", "Move back to an earlier stage", tag=t,
                  response=OPPORTUNITY, parameters=opp, request=obj(["target_stage", "reason"], target_stage=STRING,
                                                                    reason=STRING))
    api.operation("/v1/opportunities/{opportunity_id}/won", "post", "Close as won (award notice gate)", tag=t,
                  response=OPPORTUNITY, parameters=opp, request=obj(facts=FACTS))
    api.operation("/v1/opportunities/{opportunity_id}/lost", "post", "Close as lost with a reason", tag=t,
                  response=OPPORTUNITY, parameters=opp, request=obj(["reason"], reason=STRING))
    api.operation("/v1/opportunities/{opportunity_id}/history", "get", "Stage history (who, when, from, to, facts)",
                  tag=t, parameters=opp)
    api.operation("/v1/gate-violations", "get", "Rejected advances (虚假推进 attempts) in scope, per rep", tag=t,
                  parameters=[query_param("actor_id"), query_param("opportunity_id"), query_param("limit", INTEGER),
                              query_param("cursor")])
    api.operation("/v1/forecast", "get", "Forecast by close month: count, amount, weighted, commit, best case",
                  tag=t, parameters=[query_param("group_by", {"enum": ["owner", "team", "subtree"]}),
                                     query_param("subtree")])
    api.operation("/v1/stage-models", "get", "Stage models, one per business line", tag=t)
    api.operation("/v1/stage-models/{code}", "put",
                  "Create or replace a business line's stage model (stage_models:update); validated as a whole",
                  tag=t, parameters=[path_param("code")], request=obj(
                      ["name", "entry_stage", "stages"], name=STRING, entry_stage=STRING,
                      stages={"type": "array", "items": obj(
                          ["code", "name", "probability"], code=STRING, name=STRING, probability=INTEGER,
                          sla_days=INTEGER, skippable={"type": "boolean"}, outcome={"enum": ["", "won", "lost"]},
                          required_facts={"type": "array", "items": obj(
                              ["code", "name", "type"], code=STRING, name=STRING,
                              type={"enum": ["amount", "date", "text", "organisations", "document", "visits"]},
                              min_count=INTEGER, visit_kinds={"type": "array", "items": STRING})},
                          required_custom_fields={"type": "array", "items": STRING, "description":
                                                  "opportunity custom fields that must hold a value to enter"})}))
    api.operation("/v1/stage-models/{code}", "get", "Read a stage model", tag=t, parameters=[path_param("code")])
    api.operation("/v1/leads", "post", "Create a lead (in the pool, or assigned with assign_to)", tag=t, status=201,
                  request=obj(["company_name"], company_name=STRING, contact_name=STRING, phone=STRING, email=STRING,
                              region=STRING, industry=STRING, source=STRING, estimated_amount=MONEY,
                              assign_to=STRING, custom_fields=CUSTOM_FIELDS))
    api.operation("/v1/leads", "get", "List leads in scope (status=pool for the pool)", tag=t, parameters=[
        query_param("status"), query_param("owner_id"), query_param("limit", INTEGER), query_param("cursor")])
    document_filters(api, "/v1/leads")
    api.operation("/v1/leads/{lead_id}", "get", "Read a lead", tag=t, parameters=[path_param("lead_id")])
    api.operation("/v1/leads/{lead_id}/assign", "post", "Assign a lead to a rep", tag=t,
                  parameters=[path_param("lead_id")], request=obj(["rep_id"], rep_id=STRING))
    api.operation("/v1/leads/{lead_id}/close", "post", "Close a lead as invalid with a reason", tag=t,
                  parameters=[path_param("lead_id")], request=obj(["reason"], reason=STRING))
    api.operation("/v1/leads/{lead_id}/convert", "post",
                  "Convert an assigned lead: customer (through customers, with its duplicate check) + opportunity",
                  tag=t, status=201, parameters=[path_param("lead_id")],
                  request=obj(["expected_close_date"], opportunity_name=STRING, amount=MONEY,
                              expected_close_date={"type": "string", "format": "date"}))
    api.operation("/v1/lead-pool", "get", "The lead pool visible to the caller", tag=t,
                  parameters=[query_param("limit", INTEGER), query_param("cursor")])
    for path in ("/v1/leads/{lead_id}/claim", "/v1/lead-pool/{lead_id}/claim"):
        api.operation(path, "post", "Claim a lead from the pool", tag=t, parameters=[path_param("lead_id")])
