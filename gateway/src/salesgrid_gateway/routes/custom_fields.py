"""/v1/custom-fields/{entity}: custom field definitions (自定义字段). The service owning the entity
holds its definitions and validates the values written with its records (salesgrid.common.v1.
CustomFields); records carry their values as `custom_fields`, lists filter with `cf_<key>=value`
query parameters, exports with `cf_<key>` filters, customer imports with `cf_<key>` columns."""

from __future__ import annotations

from typing import Any

from salesgrid.common.v1 import custom_fields_pb2 as pb
from salesgrid.contracts.v1 import contracts_pb2
from salesgrid.pipeline.v1 import pipeline_pb2
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.rest.table import Service

# entity -> the gateway setting with the address of the service that owns it
ENTITY_SERVICES = {
    "customers": "customers_addr",
    "contacts": "customers_addr",
    "leads": "pipeline_addr",
    "opportunities": "pipeline_addr",
    "contracts": "contracts_addr",
}
FILTER_PREFIX = "cf_"
STRING, STRINGS = {"type": "string"}, {"type": "array", "items": {"type": "string"}}


def owner_of(path_values: dict[str, Any]) -> str:
    """The service holding the definitions of the entity named in the path."""
    entity = path_values["entity"]
    if entity not in ENTITY_SERVICES:
        raise ApiProblem(404, f"no custom fields on {entity!r}; entities: {', '.join(sorted(ENTITY_SERVICES))}")
    return ENTITY_SERVICES[entity]


MONEY_VALUE = {
    "type": "object",
    "required": ["amount", "currency"],
    "properties": {"amount": {"type": "string", "description": "decimal string"}, "currency": STRING},
}
# Values by field key: text, choice, user (a user id), date (YYYY-MM-DD) and number (a decimal
# string on output) as strings, money as {amount, currency}, multi_choice as a list, boolean.
SCHEMAS = {
    "CustomFields": {
        "type": "object",
        "description": "custom field values by key (GET /v1/custom-fields/{entity}); "
        "on a write, keys given are set and null clears one",
        "additionalProperties": {
            "oneOf": [STRING, {"type": "number"}, {"type": "boolean"}, STRINGS, MONEY_VALUE, {"type": "null"}]
        },
    }
}

fields = Service(pb, "CustomFields", "customers_addr", tag="custom fields")
contracts = Service(contracts_pb2, "Contracts", "contracts_addr", tag="custom fields")
pipeline = Service(pipeline_pb2, "Pipeline", "pipeline_addr", tag="custom fields")
ENTITY = "/v1/custom-fields/{entity}"
FIELD, OWNED = ENTITY + "/{key}", {"address": owner_of}
# fmt: off
ROUTES = [
    fields.get(ENTITY, "ListFields", "List the custom fields of customers, contacts, leads, opportunities or contracts (custom_fields:read)", items="fields", **OWNED),
    fields.post(ENTITY, "DefineField", "Define a custom field (custom_fields:manage); business_lines (opportunities: stage model codes) limit it to some records", status=201, **OWNED),
    fields.patch(FIELD, "UpdateField", "Change label, required, options (never removed) or business lines (If-Match: version)", if_match="required", **OWNED),
    fields.post(FIELD + "/archive", "ArchiveField", "Archive a field: no new values; stored values are kept, read, filtered and exported", body="", **OWNED),
    fields.post(FIELD + "/restore", "RestoreField", "Restore an archived field", body="", **OWNED),
    fields.delete(FIELD, "DeleteField", "Delete a field no record holds a value of (409 otherwise: archive it)", status=204, **OWNED),
    contracts.patch("/v1/contracts/{contract_id}/custom-fields", "UpdateContractCustomFields", "Set a contract's custom field values in any status (null clears one; If-Match: version)", if_match="required"),
    pipeline.patch("/v1/leads/{lead_id}/custom-fields", "UpdateLeadCustomFields", "Set a lead's custom field values (null clears one; If-Match: version)", if_match="required"),
]
# fmt: on
