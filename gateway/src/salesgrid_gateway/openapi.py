"""The OpenAPI 3.1 document, generated from the route table (salesgrid_gateway.rest): every
operation with its parameters, body and reply schemas derived from the RPC's messages, the
headers it reads and sets, and every status it can answer."""

from __future__ import annotations

import json
from typing import Any

from salesgrid_gateway import idempotency
from salesgrid_gateway.problems import TITLES
from salesgrid_gateway.rest import inputs
from salesgrid_gateway.rest.links import links
from salesgrid_gateway.rest.schema import REF_PREFIX, Schemas, short_names
from salesgrid_gateway.rest.table import TOTAL_FIELD, Route, path_names
from salesgrid_gateway.rest.parts import (
    COMMON_ERRORS,
    PUBLIC_ERRORS,
    BODY_ERRORS,
    STRING,
    NEXT_CURSOR,
    RATE_HEADERS,
    REQUEST_ID,
    IF_MATCH,
    IDEMPOTENCY_KEY,
    REPLAYED,
    CUSTOM_FILTERS,
    DESCRIPTION,
    PROBLEM_SCHEMA,
    problem_response,
    list_of,
    INCLUDE_TOTAL,
)


class OpenApi:
    def __init__(self) -> None:
        self.paths: dict[str, dict[str, Any]] = {}
        self.schemas: dict[str, Any] = {}  # named schemas of hand-written views
        self.types = Schemas()
        self.routes: list[Route] = []

    # -- from the route table ------------------------------------------------------------------
    def add(self, route: Route) -> None:
        if route.method_descriptor is not None:
            operation = self._pass_through(route)
        else:
            operation = self._hand_written(route)
        self.paths.setdefault(route.path, {})[route.method.lower()] = operation
        self.routes.append(route)

    def _pass_through(self, route: Route) -> dict[str, Any]:
        fields = route.request_descriptor.fields_by_name
        parameters = [
            self._path_param(
                name, self.types.field(fields[route.bound(name)]) if route.bound(name) in fields else STRING
            )
            for name in path_names(route.path)
        ]
        for name in route.query_fields():
            schema = self.types.field(fields[name], route.request_descriptor.full_name)
            if allowed := route.choices.get(route.rest_name(name)):
                schema = {**schema, "enum": list(allowed)}
            parameters.append(
                {
                    "name": route.rest_name(name),
                    "in": "query",
                    "required": route.rest_name(name) in route.required_fields,
                    "schema": schema,
                    **({"style": "form", "explode": True} if schema.get("type") == "array" else {}),
                }
            )
        if route.paging or route.record_paging:
            parameters += [
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "description": "page size",
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": inputs.MAX_LIMIT,
                        "default": inputs.DEFAULT_LIMIT,
                    },
                },
                {
                    "name": "cursor",
                    "in": "query",
                    "required": False,
                    "schema": STRING,
                    "description": "`next_cursor` of the previous page; a cursor of another list is 400",
                },
            ]
            if route.paging and TOTAL_FIELD in fields:
                parameters.append(INCLUDE_TOTAL)
        body = None
        if route.body:
            descriptor = route.request_descriptor
            hidden = route.hidden_fields() | set(route.query)
            if route.body != "*":
                descriptor = fields[route.body].message_type
                hidden = {name.split(".", 1)[1] for name in hidden if name.startswith(route.body + ".")}
            extra = {}
            if route.version_check != "none":
                extra["version"] = {
                    "type": "integer",
                    "minimum": 0,
                    "description": "the version read, also accepted here instead of If-Match",
                }
            rename = {k: v for k, v in route.rename.items() if "." not in v and k not in path_names(route.path)}
            required = tuple(name for name in route.required_fields if name not in route.query)
            body = self.types.object(descriptor, exclude=hidden, rename=rename, required=required, extra=extra)
        if route.items:
            listed = route.reply_descriptor.fields_by_name[route.items]
            item = self.types.single(listed)
            if route.item_name:
                item = {"type": "object", "required": [route.item_name], "properties": {route.item_name: item}}
            reply: dict[str, Any] | None = list_of(item, counted=bool(route.paging) and TOTAL_FIELD in fields)
        elif route.record_paging:  # a record holding a paged list: its token is the list's cursor
            reply = self.types.object(route.result_descriptor, exclude={route.record_paging[1]}, extra=NEXT_CURSOR)
        else:
            reply = self.types.ref(route.result_descriptor)
        if route.also:  # reply fields beside the result's (always present unless they have presence)
            also = route.reply_descriptor.fields_by_name
            extra = {
                rest: self.types.field(also[name], route.reply_descriptor.full_name)
                for rest, name in route.also.items()
            }
            reply = self.types.object(route.result_descriptor, extra=extra)
            reply["required"] = [rest for rest, name in route.also.items() if not also[name].has_presence]
        etag = not route.items and "version" in route.result_descriptor.fields_by_name
        operation = self._operation(route, parameters, body, reply, headers=("ETag",) if etag else ())
        custom = fields.get("custom_fields")
        if route.method == "GET" and custom is not None and custom.message_type.GetOptions().map_entry:
            operation["description"] = CUSTOM_FILTERS
        return operation

    def _hand_written(self, route: Route) -> dict[str, Any]:
        for message in route.messages:
            self.types.ref(message.DESCRIPTOR)
        parameters = [
            self._path_param(name, {"type": "integer", "minimum": 0} if route.converters.get(name) == "int" else STRING)
            for name in path_names(route.path)
        ]
        parameters += list(route.parameters)
        body = route.request_schema
        if route.request_message is not None:
            body = self.types.object(
                route.request_message.DESCRIPTOR, exclude=set(route.hidden), required=route.required or ()
            )
        reply = route.response_schema
        if route.response_message is not None:
            reply = self.types.object(route.response_message.DESCRIPTOR, extra=route.response_extra)
        return self._operation(route, parameters, body, reply, headers=route.headers)

    @staticmethod
    def _path_param(name: str, schema: dict[str, Any]) -> dict[str, Any]:
        # Never empty: the client's URL would lose the segment and name another route
        # (POST /v1/opportunities//regress is sent as /v1/opportunities/regress).
        if schema.get("type") == "string" and not schema.get("minLength"):
            schema = {**schema, "minLength": 1}
        return {"name": name, "in": "path", "required": True, "schema": schema}

    def _operation(
        self,
        route: Route,
        parameters: list[dict[str, Any]],
        body: dict[str, Any] | None,
        reply: dict[str, Any] | None,
        *,
        headers: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        version_check = route.version_check
        if version_check != "none":
            parameters = [*parameters, {**IF_MATCH, "required": version_check == "required"}]
        keyed = route.method in idempotency.METHODS and not route.public
        if keyed:
            parameters = [*parameters, IDEMPOTENCY_KEY]
        response_headers: dict[str, Any] = {**REQUEST_ID, **({} if route.public else RATE_HEADERS)}
        if keyed:
            response_headers |= REPLAYED
        for name in headers:
            response_headers[name] = {"schema": STRING, "required": True}
        success: dict[str, Any] = {
            "description": TITLES.get(route.status, "OK") if route.status != 200 else "OK",
            "headers": response_headers,
        }
        if route.status != 204:
            if route.response_types:
                success["content"] = {
                    kind: {"schema": {"type": "string", "format": "binary"}} for kind in route.response_types
                }
            elif reply is not None:
                success["content"] = {"application/json": {"schema": reply}}
        statuses = list(PUBLIC_ERRORS if route.public else COMMON_ERRORS)
        has_body = body is not None or bool(route.request_types)
        if has_body:
            statuses += BODY_ERRORS
        if version_check != "none":
            statuses += (412, 428) if version_check == "required" else (412,)
        statuses += route.errors
        responses: dict[str, Any] = {str(route.status): success}
        for status in sorted(set(statuses)):
            responses[str(status)] = {"$ref": f"#/components/responses/Problem{status}"}
        op: dict[str, Any] = {"summary": route.summary, "tags": [route.tag], "responses": responses}
        if parameters:
            op["parameters"] = parameters
        if body is not None:
            op["requestBody"] = {"required": not route.optional_body, "content": {"application/json": {"schema": body}}}
        elif route.request_types:
            op["requestBody"] = {
                "required": True,
                "content": {kind: {"schema": {"type": "string", "format": "binary"}} for kind in route.request_types},
            }
        if route.public:
            op["security"] = []
        return op

    def document(self) -> dict[str, Any]:
        links(self.routes, self.paths)
        names = short_names(self.types.components)
        schemas = {names[full]: schema for full, schema in sorted(self.types.components.items())}
        document = {
            "openapi": "3.1.0",
            "info": {"title": "Salesgrid API", "version": "1.0.0", "description": DESCRIPTION},
            "servers": [{"url": "/"}],
            "security": [{"bearer": []}, {"apiKey": []}],
            "paths": dict(sorted(self.paths.items())),
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT or sg_ API key"},
                    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                },
                "schemas": {"Problem": PROBLEM_SCHEMA, **schemas, **self.schemas},
                "responses": {
                    "Problem": problem_response(0),
                    **{
                        f"Problem{status}": problem_response(status)
                        for status in sorted(TITLES)
                        if 400 <= status < 500 or status == 503
                    },
                },
            },
        }
        text = json.dumps(document)
        for full, short in names.items():  # refs were written with the full proto names
            text = text.replace(f'"{REF_PREFIX}{full}"', f'"{REF_PREFIX}{short}"')
        return json.loads(text)  # type: ignore[no-any-return]
