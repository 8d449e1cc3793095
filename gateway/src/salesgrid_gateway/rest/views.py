"""Views generated from the route table: JSON (and path, query, If-Match, paging) in, the
RPC called with the caller's token, the reply rendered as JSON out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from salesgrid_gateway.clients import call, from_json, stub, to_json
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.rest import inputs
from salesgrid_gateway.rest.list_items import rendered_items
from salesgrid_gateway.rest.table import TOTAL_FIELD, Route, path_names
from salesgrid_gateway.routes.common import report_sensitive_read
from salesgrid_gateway.web import Response, g, json_response, request

VERSION_FIELDS = frozenset({"", "version", "expected_version"})
CUSTOM_PREFIX = "cf_"


def _is_string_map(field: Any) -> bool:
    return bool(
        field is not None
        and field.message_type is not None
        and field.message_type.GetOptions().map_entry
        and field.message_type.fields_by_name["value"].type == field.TYPE_STRING
    )


def make_view(route: Route) -> Callable[..., Any]:
    if route.view is not None:
        return route.view
    return _pass_through(route)


def _pass_through(route: Route) -> Callable[..., Any]:
    assert route.service is not None
    service, rpc = route.service, route.rpc
    request_class = route.request_class()
    fields = route.request_descriptor.fields_by_name
    query_fields = [(name, route.rest_name(name), fields[name]) for name in route.query_fields()]
    paging = route.paging or route.record_paging
    version_check = route.version_check
    set_flags = {name[4:]: name for name in fields if name.startswith("set_") and name[4:] in fields}
    bound = {name: route.bound(name) for name in path_names(route.path)}
    etag = not route.items and "version" in route.result_descriptor.fields_by_name
    # proto field -> what the client called it, to name fields in the service's errors
    names = {proto: rest for rest, proto in route.rename.items()} | {v: k for k, v in bound.items()}
    names |= {"expected_version": "If-Match", "page_size": "limit"} | ({paging[0]: "cursor"} if paging else {})
    scope = route.endpoint
    token = "" if route.anonymous_call else None
    custom_filters = route.method == "GET" and _is_string_map(fields.get("custom_fields"))
    count = bool(paging) and TOTAL_FIELD in fields  # the list can be asked for its total
    required = route.required_fields
    client_ip = "client_ip" in fields  # (a descriptor's field table: looked up once, not per request)

    async def handler(**path_values: Any) -> Response:
        address = route.address(path_values) if route.address else service.address_setting
        body: dict[str, Any] = {}
        if route.body:
            body = inputs.json_body(optional=route.optional_body)
        version = inputs.if_match(body, required=version_check == "required") if version_check != "none" else 0
        sent = dict(body)
        values: dict[str, Any] = {route.rename.get(k, k): v for k, v in body.items()} if body else {}
        if route.body not in ("", "*"):
            values = {route.body: values}
        if body:
            values |= {set_flags[k]: True for k in body if k in set_flags}
        inputs.check_choices(route.choices)
        for proto, rest, field in query_fields:
            if rest in request.args:
                values[proto] = sent[rest] = inputs.query_value(field, rest)
        if custom_filters:  # cf_<key>=value: custom field filters (the owning service checks them)
            values["custom_fields"] = {
                name.removeprefix(CUSTOM_PREFIX): value
                for name, value in request.args.items()
                if name.startswith(CUSTOM_PREFIX)
            }
            inputs.reject_nul(values["custom_fields"], "custom_fields")
        inputs.require(required, sent)
        if version:
            values["expected_version"] = version
        if paging:
            values["page_size"] = inputs.limit()
            values[paging[0]] = inputs.decode_cursor(scope)
            if count and TOTAL_FIELD in request.args:
                values[TOTAL_FIELD] = inputs.query_value(fields[TOTAL_FIELD], TOTAL_FIELD)
        if client_ip:
            values["client_ip"] = g.client_ip
        values |= route.fixed
        for name, value in path_values.items():
            inputs.reject_nul(value, name)
            _put(values, bound[name], value)
        try:
            message = from_json(request_class, values)
            reply = await call(getattr(stub(service.stub_class, address), rpc), message, token=token)
        except ApiProblem as problem:
            raise _renamed(problem, names, stale=bool(version)) from None
        if route.audit:
            await report_sensitive_read(*route.audit)
        if route.status == 204:
            return Response(status=204)
        if route.items:
            next_token = getattr(reply, paging[1]) if paging else ""
            listed = getattr(reply, route.items)
            payload = {
                "items": [{route.item_name: item} for item in listed] if route.item_name else rendered_items(listed),
                "next_cursor": inputs.encode_cursor(scope, next_token),
            }
            if count and reply.HasField("total"):
                payload["total"] = reply.total
            return json_response(payload, route.status)
        result = getattr(reply, route.result) if route.result else reply
        rendered = to_json(result)
        if route.also:  # reply fields beside the result's (a created record's warnings, a secret)
            whole = to_json(reply)
            rendered |= {rest: whole.get(name) for rest, name in route.also.items()}
        if paging:  # a record holding a paged list: its token as the list's cursor
            rendered.pop(paging[1], None)
            rendered["next_cursor"] = inputs.encode_cursor(scope, getattr(reply, paging[1]))
        return json_response(rendered, route.status, {"ETag": f'"{result.version}"'} if etag else None)

    handler.__name__ = handler.__qualname__ = f"{rpc}_view"
    handler.__doc__ = route.summary
    return handler


def _put(values: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        found = values.get(part)
        if not isinstance(found, dict):
            found = values[part] = {}
        values = found
    values[last] = value


def _renamed(problem: ApiProblem, names: dict[str, str], *, stale: bool) -> ApiProblem:
    """The service's problem in the client's words: fields as the client named them, and a
    stale If-Match as 412 Precondition Failed (a version conflict on a conditional request)."""
    problem.errors = [
        {**error, "field": names.get(error.get("field", ""), error.get("field", ""))} for error in problem.errors
    ]
    fields = {error.get("field", "") for error in problem.errors} or {""}
    if stale and problem.status == 409 and problem.code == "CONFLICT" and fields <= (VERSION_FIELDS | {"If-Match"}):
        problem.status = 412
    return problem
