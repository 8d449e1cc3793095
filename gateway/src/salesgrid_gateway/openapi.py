"""The OpenAPI 3.1 document, assembled from what each route module declares next to its routes."""
from __future__ import annotations

from typing import Any

PROBLEM = {"$ref": "#/components/responses/Problem"}


class OpenApi:
    def __init__(self) -> None:
        self.paths: dict[str, dict[str, Any]] = {}
        self.schemas: dict[str, Any] = {}

    def operation(self, path: str, method: str, summary: str, *, tag: str, request: dict[str, Any] | None = None,
                  response: dict[str, Any] | None = None, status: int = 200, public: bool = False,
                  parameters: list[dict[str, Any]] | None = None) -> None:
        op: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": {
            str(status): {"description": "OK", **({"content": {"application/json": {"schema": response}}}
                                                  if response else {})},
            "default": PROBLEM,
        }}
        if request:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": request}}}
        if parameters:
            op["parameters"] = parameters
        if public:
            op["security"] = []
        self.paths.setdefault(path, {})[method.lower()] = op

    def document(self) -> dict[str, Any]:
        return {
            "openapi": "3.1.0",
            "info": {"title": "Salesgrid API", "version": "1.0.0",
                     "description": "Sales-force management platform: REST/JSON API under /v1. Errors are "
                                    "RFC 9457 problem+json; lists use cursor pagination."},
            "servers": [{"url": "/"}],
            "security": [{"bearer": []}, {"apiKey": []}],
            "paths": dict(sorted(self.paths.items())),
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT or sg_ API key"},
                    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                },
                "schemas": {"Problem": {
                    "type": "object", "required": ["type", "title", "status"],
                    "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                                   "status": {"type": "integer"}, "detail": {"type": "string"},
                                   "instance": {"type": "string"},
                                   "errors": {"type": "array", "items": {"type": "object", "properties": {
                                       "field": {"type": "string"}, "message": {"type": "string"}}}}}},
                    **self.schemas},
                "responses": {"Problem": {"description": "Problem details (RFC 9457)", "content": {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}},
            },
        }


def obj(required: list[str] | None = None, **properties: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
STRINGS = {"type": "array", "items": STRING}


def path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": STRING}


def query_param(name: str, schema: dict[str, Any] = STRING) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}
