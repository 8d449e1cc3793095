"""OpenAPI links from the route table: an operation creating a record (201 with an `id`) links to
every operation on that record's path (`POST /v1/customers` -> `GET`/`PATCH /v1/customers/{customer_id}`,
`POST /v1/customers/{customer_id}/contacts`...), the new id filling the parameter and the creator's
own path parameters passed on. Clients and Schemathesis' stateful phase follow them."""

from __future__ import annotations

from typing import Any

from salesgrid_gateway.rest.table import Route, path_names


def links(routes: list[Route], paths: dict[str, dict[str, Any]]) -> None:
    """Adds `links` to the success response of each creating operation in `paths`."""
    for route in routes:
        if not _creates(route):
            continue
        prefix = route.path + "/{"
        found: dict[str, Any] = {}
        for path, item in sorted(paths.items()):
            if not path.startswith(prefix):
                continue
            new = path[len(prefix) :].split("}", 1)[0]
            parameters = {name: f"$request.path.{name}" for name in path_names(route.path)}
            parameters[new] = "$response.body#/id"
            for method in sorted(item):
                name = f"{method.upper()}{_title(path[len(route.path) :])}"
                found[name] = {"operationRef": _reference(path, method), "parameters": parameters}
        if found:
            paths[route.path][route.method.lower()]["responses"][str(route.status)]["links"] = found


def _creates(route: Route) -> bool:
    if route.method != "POST" or route.status != 201 or route.items or route.method_descriptor is None:
        return False
    return "id" in route.result_descriptor.fields_by_name


def _title(path: str) -> str:
    """/{customer_id}/contacts -> ByIdContacts: a link name ([A-Za-z0-9._-])."""
    parts = ["ById" if part.startswith("{") else part.title().replace("-", "") for part in path.split("/") if part]
    return "".join(parts)


def _reference(path: str, method: str) -> str:
    escaped = path.replace("~", "~0").replace("/", "~1").replace("{", "%7B").replace("}", "%7D")
    return f"#/paths/{escaped}/{method}"
