"""/v1/custom-fields/{entity}: custom field definitions (自定义字段). The service owning the entity
holds its definitions and validates the values written with its records (salesgrid.common.v1.
CustomFields); records carry their values as `custom_fields`, lists filter with `cf_<key>=value`
query parameters, exports with `cf_<key>` filters, customer imports with `cf_<key>` columns."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from google.protobuf.struct_pb2 import Struct

from salesgrid.common.v1 import custom_fields_pb2 as pb
from salesgrid.common.v1 import custom_fields_pb2_grpc as pb_grpc
from salesgrid.contracts.v1 import contracts_pb2 as contracts_pb
from salesgrid.contracts.v1 import contracts_pb2_grpc as contracts_grpc
from salesgrid.pipeline.v1 import pipeline_pb2 as pipeline_pb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as pipeline_grpc
from salesgrid_gateway.clients import call, from_json, stub, to_json
from salesgrid_gateway.openapi import BOOLEAN, INTEGER, STRING, STRINGS, OpenApi, obj, path_param, query_param
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.rest.schema import hint_struct
from salesgrid_gateway.routes.common import expected_version, json_body, require_fields, with_etag

blueprint = Blueprint("custom_fields", __name__)

# entity -> the service that owns it (its gateway address setting)
ENTITY_SERVICES = {
    "customers": "customers",
    "contacts": "customers",
    "leads": "pipeline",
    "opportunities": "pipeline",
    "contracts": "contracts",
}
FILTER_PREFIX = "cf_"
TYPES = ["text", "number", "money", "date", "choice", "multi_choice", "user", "boolean"]


def _fields(entity: str) -> pb_grpc.CustomFieldsStub:
    service = ENTITY_SERVICES.get(entity)
    if service is None:
        raise ApiProblem(404, f"no custom fields on {entity!r}; entities: {', '.join(sorted(ENTITY_SERVICES))}")
    return stub(pb_grpc.CustomFieldsStub, f"{service}_addr")


def custom_field_filters() -> dict[str, str]:
    """The list's cf_<key>=value query parameters as key -> value (the owning service checks them)."""
    return {
        name.removeprefix(FILTER_PREFIX): value
        for name, value in request.args.items()
        if name.startswith(FILTER_PREFIX)
    }


def _definition(message: pb.FieldDefinition) -> dict[str, Any]:
    body = to_json(message)
    body["values_stored"] = message.values_stored  # a number, not an int64 string
    return body


@blueprint.patch("/v1/contracts/<contract_id>/custom-fields")
def update_contract_custom_fields(contract_id: str) -> tuple[Response, int]:
    """Contracts change their terms only through amendments; their custom fields are set here, in any status."""
    body = json_body()
    version = expected_version(body)
    contract = call(
        stub(contracts_grpc.ContractsStub, "contracts_addr").UpdateContractCustomFields,
        contracts_pb.UpdateContractCustomFieldsRequest(
            id=contract_id, expected_version=version, custom_fields=_values(body)
        ),
    )
    return with_etag(to_json(contract), contract.version)


def _values(body: dict[str, Any]) -> Struct:
    values = body.get("custom_fields")
    if not isinstance(values, dict) or not values:
        raise ApiProblem(
            400,
            "custom_fields must be an object naming at least one field",
            errors=[{"field": "custom_fields", "message": "an object"}],
        )
    struct = Struct()
    try:
        struct.update(values)
    except (OverflowError, ValueError, TypeError) as error:  # e.g. a number past a double's range
        raise ApiProblem(
            400, f"custom_fields cannot be read: {error}", errors=[{"field": "custom_fields", "message": str(error)}]
        ) from None
    return struct


@blueprint.patch("/v1/leads/<lead_id>/custom-fields")
def update_lead_custom_fields(lead_id: str) -> tuple[Response, int]:
    body = json_body()
    version = expected_version(body)
    lead = call(
        stub(pipeline_grpc.PipelineStub, "pipeline_addr").UpdateLeadCustomFields,
        pipeline_pb.UpdateLeadCustomFieldsRequest(id=lead_id, expected_version=version, custom_fields=_values(body)),
    )
    return with_etag(to_json(lead), lead.version)


@blueprint.get("/v1/custom-fields/<entity>")
def list_fields(entity: str) -> Response:
    archived = request.args.get("include_archived", "").lower() in ("1", "true", "yes")
    reply = call(_fields(entity).ListFields, pb.ListFieldsRequest(entity=entity, include_archived=archived))
    return jsonify({"items": [_definition(f) for f in reply.fields]})


@blueprint.post("/v1/custom-fields/<entity>")
def define_field(entity: str) -> tuple[Response, int, dict[str, str]]:
    body = json_body()
    require_fields(body, "key", "label", "type")
    defined = call(_fields(entity).DefineField, from_json(pb.DefineFieldRequest, body, entity=entity))
    return jsonify(_definition(defined)), 201, {"Location": f"/v1/custom-fields/{entity}/{defined.key}"}


@blueprint.patch("/v1/custom-fields/<entity>/<key>")
def update_field(entity: str, key: str) -> Response:
    body = json_body()
    version = expected_version(body)
    for name in ("options", "business_lines"):
        if name in body:
            body[f"set_{name}"] = True
    return jsonify(
        _definition(
            call(
                _fields(entity).UpdateField,
                from_json(pb.UpdateFieldRequest, body, entity=entity, key=key, expected_version=version),
            )
        )
    )


@blueprint.post("/v1/custom-fields/<entity>/<key>/archive")
def archive_field(entity: str, key: str) -> Response:
    return jsonify(_definition(call(_fields(entity).ArchiveField, pb.FieldRef(entity=entity, key=key))))


@blueprint.post("/v1/custom-fields/<entity>/<key>/restore")
def restore_field(entity: str, key: str) -> Response:
    return jsonify(_definition(call(_fields(entity).RestoreField, pb.FieldRef(entity=entity, key=key))))


@blueprint.delete("/v1/custom-fields/<entity>/<key>")
def delete_field(entity: str, key: str) -> tuple[str, int]:
    call(_fields(entity).DeleteField, pb.FieldRef(entity=entity, key=key))
    return "", 204


MONEY_VALUE = obj(["amount", "currency"], amount={"type": "string", "description": "decimal string"}, currency=STRING)
# Values by field key: text, choice, user (a user id), date (YYYY-MM-DD) and number (a decimal
# string on output) as strings, money as {amount, currency}, multi_choice as a list, boolean.
CUSTOM_FIELDS = {
    "type": "object",
    "description": "custom field values by key (GET /v1/custom-fields/{entity}); "
    "on a write, keys given are set and null clears one",
    "additionalProperties": {"oneOf": [STRING, {"type": "number"}, BOOLEAN, STRINGS, MONEY_VALUE, {"type": "null"}]},
}
FILTER_TEXT = (
    "Custom field filters: `cf_<key>=<value>` query parameters, one per field (OpenAPI cannot name "
    "parameters by prefix), all must match: equality on the stored form (text case-insensitive, money "
    "as `12.50 CNY`); for a multi_choice field, records whose value holds the option."
)


def document_filters(api: OpenApi, path: str) -> None:
    """Describe the cf_<key> filters on a list operation already declared."""
    api.paths[path]["get"]["description"] = FILTER_TEXT


def _with_required_flag(schema: dict[str, Any]) -> dict[str, Any]:
    """obj() takes `required` as the schema's required list; the definition's flag is added here."""
    schema["properties"]["required"] = BOOLEAN
    return schema


CUSTOM_FIELDS_REF = {"$ref": "#/components/schemas/CustomFields"}  # a record's or a body's custom_fields
hint_struct("custom_fields", CUSTOM_FIELDS_REF)  # every message's custom_fields, in the route table's schemas
DEFINITION = _with_required_flag(
    obj(
        entity=STRING,
        key=STRING,
        label=STRING,
        type={"enum": TYPES},
        options=STRINGS,
        business_lines=STRINGS,
        active=BOOLEAN,
        version=INTEGER,
        values_stored=INTEGER,
        created_at=STRING,
        updated_at=STRING,
    )
)


def describe(api: OpenApi) -> None:
    t = "custom fields"
    entity = path_param("entity")
    ref = [entity, path_param("key")]
    api.schemas["CustomFields"] = CUSTOM_FIELDS
    api.schemas["CustomFieldDefinition"] = DEFINITION
    definition = {"$ref": "#/components/schemas/CustomFieldDefinition"}
    api.operation(
        "/v1/custom-fields/{entity}",
        "get",
        "List the custom fields of customers, contacts, leads, opportunities or contracts (custom_fields:read)",
        tag=t,
        parameters=[entity, query_param("include_archived", BOOLEAN)],
        response=obj(["items"], items={"type": "array", "items": definition}),
    )
    api.operation(
        "/v1/custom-fields/{entity}",
        "post",
        "Define a custom field (custom_fields:manage); business_lines "
        "(opportunities: stage model codes) limit it to some records",
        tag=t,
        status=201,
        parameters=[entity],
        response=definition,
        request=_with_required_flag(
            obj(
                ["key", "label", "type"],
                key=STRING,
                label=STRING,
                type={"enum": TYPES},
                options=STRINGS,
                business_lines=STRINGS,
            )
        ),
    )
    api.operation(
        "/v1/custom-fields/{entity}/{key}",
        "patch",
        "Change label, required, options (never removed) or business lines (If-Match: version)",
        tag=t,
        parameters=ref,
        response=definition,
        request=_with_required_flag(obj(label=STRING, options=STRINGS, business_lines=STRINGS)),
    )
    api.operation(
        "/v1/custom-fields/{entity}/{key}/archive",
        "post",
        "Archive a field: no new values; stored values are kept, read, filtered and exported",
        tag=t,
        parameters=ref,
        response=definition,
    )
    api.operation(
        "/v1/custom-fields/{entity}/{key}/restore",
        "post",
        "Restore an archived field",
        tag=t,
        parameters=ref,
        response=definition,
    )
    api.operation(
        "/v1/contracts/{contract_id}/custom-fields",
        "patch",
        "Set a contract's custom field values in any status (null clears one; If-Match: version)",
        tag=t,
        parameters=[path_param("contract_id")],
        request=obj(["custom_fields"], custom_fields=CUSTOM_FIELDS_REF),
    )
    api.operation(
        "/v1/leads/{lead_id}/custom-fields",
        "patch",
        "Set a lead's custom field values (null clears one; If-Match: version)",
        tag=t,
        parameters=[path_param("lead_id")],
        request=obj(["custom_fields"], custom_fields=CUSTOM_FIELDS_REF),
    )
    api.operation(
        "/v1/custom-fields/{entity}/{key}",
        "delete",
        "Delete a field no record holds a value of (409 otherwise: archive it)",
        tag=t,
        parameters=ref,
        status=204,
    )
