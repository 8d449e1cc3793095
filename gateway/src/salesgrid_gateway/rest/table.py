"""The REST API's route table. Each route module (salesgrid_gateway/routes/*.py) exposes
`ROUTES`, a list of `Route`s; the app registers the views and the OpenAPI document from it.

A pass-through operation is one line naming the HTTP method, path and RPC:

    api = Service(customers_pb2, "Customers", "customers_addr", tag="customers")
    ROUTES = [
        api.get("/v1/customers/{customer_id}", "GetCustomer", "Read a customer"),
        api.post("/v1/customers", "CreateCustomer", "Create a customer", status=201),
        api.get("/v1/pool", "ListPool", "The public pool", items="customers"),
    ]

Everything else is derived from the RPC's messages: path parameters fill the request field of
the same name (or `id`); a GET's other scalar fields are query parameters; other methods take
the rest of the request message as the JSON body; `page_size` + `page_token`/`cursor` make the
route paged (`limit`, `cursor`, `include_total` → `{"items", "next_cursor", "total"}`);
`expected_version` makes it take If-Match; `choices` narrows a query parameter to a set of values; required members come from rest/constraints.py;
`set_<field>` flags are set when `<field>` is sent; a `client_ip` field gets the caller's
address; a reply with `version` sets ETag; `result`/`also` pick reply fields. A view that is not a pass-through
(uploads, downloads, export jobs) is a `view(...)`: a hand-written function with its request,
responses and statuses declared in the same table."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from types import ModuleType
from typing import Any

from google.protobuf.descriptor import Descriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from salesgrid_gateway.rest import constraints

PAGE_TOKENS = (("page_token", "next_page_token"), ("cursor", "next_cursor"))
TOTAL_FIELD = "include_total"  # a paged list request's flag: count the list into the reply's `total`


@dataclass(frozen=True)
class Route:
    """One operation. `rpc` set: a generated pass-through view; `view` set: hand-written."""

    method: str
    path: str  # OpenAPI style: /v1/customers/{customer_id}
    summary: str
    tag: str
    status: int = 200
    service: "Service | None" = None
    rpc: str = ""
    view: Callable[..., Any] | None = None
    # -- pass-through options -------------------------------------------------------------------
    items: str = ""  # reply's repeated field listed as {"items": [...], "next_cursor": ...}
    paged: bool = False  # a record (not a list) holding a paged list, e.g. an import job's row errors
    item_name: str = ""  # items of a repeated scalar: each as {item_name: value}
    result: str = ""  # reply's field returned instead of the whole reply
    also: dict[str, str] = field(default_factory=dict)  # REST name -> reply field returned beside `result`'s
    body: str = "*"  # "*": the request message (less path/query fields); "<field>": that field; "": none
    optional_body: bool = False  # the body may be left out (e.g. an action with an optional comment)
    query: tuple[str, ...] = ()  # request fields read from the query string on a non-GET
    rename: dict[str, str] = field(default_factory=dict)  # REST name -> request field (`q` -> `query`)
    fixed: dict[str, Any] = field(default_factory=dict)  # request fields set by the route itself
    # query parameter (REST name) -> the values this operation accepts (an enum in the document,
    # anything else 400 naming them); an empty tuple: the operation takes no such parameter
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # body (or query) members that must be present and not empty; default: the request (body)
    # message's required fields declared in rest/constraints.py
    required: tuple[str, ...] | None = None
    if_match: str = "auto"  # "required", "optional" or "none"; auto: optional if expected_version
    audit: tuple[str, str] | None = None  # (action, target type) of a sensitive read
    public: bool = False  # no credentials (login, refresh, logout)
    anonymous_call: bool = False  # the RPC is called without the caller's token
    # the address setting of the service to call, chosen from the path values (custom fields: the
    # entity's owner; may raise a 404 ApiProblem); None: the Service's own
    address: Callable[[dict[str, Any]], str] | None = None
    # -- declared for hand-written views (pass-throughs derive them) -----------------------------
    request_schema: dict[str, Any] | None = None
    request_message: type[Message] | None = None  # or the JSON body is this message (less `hidden`)
    hidden: tuple[str, ...] = ()  # request_message fields the client does not send
    request_types: tuple[str, ...] = ()  # non-JSON bodies: the media types accepted (uploads)
    response_schema: dict[str, Any] | None = None
    response_message: type[Message] | None = None  # or the JSON answer is this message plus `response_extra`
    response_extra: dict[str, Any] = field(default_factory=dict)  # members a hand-written view adds
    response_types: tuple[str, ...] = ()  # non-JSON answers: the media types produced (downloads)
    parameters: tuple[dict[str, Any], ...] = ()  # query parameters of a hand-written view
    headers: tuple[str, ...] = ()  # response headers set (ETag, Location, Content-Disposition)
    errors: tuple[int, ...] = ()  # statuses beyond the common ones (413, 412…)
    converters: dict[str, str] = field(default_factory=dict)  # path parameter -> Werkzeug converter ("int")
    messages: tuple[type[Message], ...] = ()  # messages a hand-written view's schemas refer to by full name
    streams_body: bool = False  # the view reads the body as it arrives (uploads), not read beforehand

    @property
    def rule(self) -> str:
        """The path as a Werkzeug routing rule (/v1/customers/<customer_id>)."""
        path = self.path
        for name in path_names(self.path):
            converter = f"{self.converters[name]}:" if name in self.converters else ""
            if self.method_descriptor and _is_integer(self.request_descriptor, self.bound(name)):
                converter = "int:"
            path = path.replace("{" + name + "}", f"<{converter}{name}>")
        return path

    @property
    def endpoint(self) -> str:
        return f"{self.method.lower()}:{self.path}"

    # -- derived from the RPC ---------------------------------------------------------------------
    @property
    def method_descriptor(self) -> MethodDescriptor | None:
        return self.service.method(self.rpc) if self.service and self.rpc else None

    @property
    def request_descriptor(self) -> Descriptor:
        assert self.method_descriptor is not None
        return self.method_descriptor.input_type

    @property
    def reply_descriptor(self) -> Descriptor:
        assert self.method_descriptor is not None
        return self.method_descriptor.output_type

    def bound(self, path_name: str) -> str:
        """The request field a path parameter fills."""
        if path_name in self.rename:
            return self.rename[path_name]
        fields = self.request_descriptor.fields_by_name
        return path_name if path_name in fields else "id"

    @property
    def paging(self) -> tuple[str, str] | None:
        """(request token field, reply token field) of a paged list."""
        return self._tokens() if self.items else None

    @property
    def record_paging(self) -> tuple[str, str] | None:
        """The tokens of a record (not a list) holding a paged list, e.g. an import job's row
        errors: its token is answered as the record's `next_cursor`."""
        return self._tokens() if self.paged and not self.items else None

    def _tokens(self) -> tuple[str, str] | None:
        request_fields = self.request_descriptor.fields_by_name
        reply_fields = self.reply_descriptor.fields_by_name
        for token, next_token in PAGE_TOKENS:
            if "page_size" in request_fields and token in request_fields and next_token in reply_fields:
                return token, next_token
        return None

    @property
    def version_check(self) -> str:
        if self.if_match != "auto":
            return self.if_match
        if self.method_descriptor and "expected_version" in self.request_descriptor.fields_by_name:
            return "optional"
        return "none"

    @property
    def result_descriptor(self) -> Descriptor:
        reply = self.reply_descriptor
        return reply.fields_by_name[self.result].message_type if self.result else reply

    @property
    def body_descriptor(self) -> Descriptor:
        """The message the JSON body is: the request, or its field named by `body`."""
        if self.body in ("", "*"):
            return self.request_descriptor
        return self.request_descriptor.fields_by_name[self.body].message_type

    @property
    def required_fields(self) -> tuple[str, ...]:
        if self.required is not None:
            return self.required
        if self.method_descriptor is None:
            return ()
        names = constraints.REQUIRED.get(self.body_descriptor.full_name, ())
        return tuple(self.rest_name(name) for name in names)

    def request_class(self) -> type[Message]:
        return GetMessageClass(self.request_descriptor)

    def hidden_fields(self) -> set[str]:
        """Request fields the client does not send directly."""
        fields = self.request_descriptor.fields_by_name
        hidden = {self.bound(name) for name in path_names(self.path)} | set(self.fixed)
        hidden |= {"client_ip"} & set(fields)
        hidden |= {self.rename.get(name, name) for name, allowed in self.choices.items() if not allowed}
        hidden |= {name for name in fields if name.startswith("set_") and name[4:] in fields}
        if self.version_check != "none":
            hidden.add("expected_version")
        if tokens := self.paging or self.record_paging:
            hidden |= {"page_size", tokens[0], TOTAL_FIELD}
        return hidden

    def query_fields(self) -> list[str]:
        """Request fields read from the query string."""
        if self.method != "GET":
            return list(self.query)
        hidden = self.hidden_fields()
        return [
            f.name
            for f in self.request_descriptor.fields
            if f.name not in hidden
            and (f.message_type is None or f.message_type.full_name == "google.protobuf.Timestamp")
        ]

    def rest_name(self, proto_field: str) -> str:
        for rest, proto in self.rename.items():
            if proto == proto_field:
                return rest
        return proto_field


def path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _is_integer(descriptor: Descriptor, name: str) -> bool:
    found = descriptor.fields_by_name.get(name)
    return found is not None and found.cpp_type in (
        found.CPPTYPE_INT32,
        found.CPPTYPE_INT64,
        found.CPPTYPE_UINT32,
        found.CPPTYPE_UINT64,
    )


@dataclass(frozen=True)
class Service:
    """A gRPC service of the platform as the gateway reaches it."""

    pb: ModuleType  # the *_pb2 module
    name: str  # the service's name in the .proto (Customers)
    address_setting: str  # the gateway setting with its address (customers_addr)
    tag: str  # the OpenAPI tag of its operations

    def method(self, rpc: str) -> MethodDescriptor:
        return self.pb.DESCRIPTOR.services_by_name[self.name].methods_by_name[rpc]

    @cached_property  # looked up on every call of its routes: imported once
    def stub_class(self) -> Any:
        grpc_module = importlib.import_module(self.pb.__name__ + "_grpc")
        return getattr(grpc_module, f"{self.name}Stub")

    def route(self, method: str, path: str, rpc: str, summary: str, **options: Any) -> Route:
        made = Route(method, path, summary, options.pop("tag", self.tag), service=self, rpc=rpc, **options)
        _ = made.method_descriptor  # an unknown RPC fails at import, not at the first request
        return made

    def get(self, path: str, rpc: str, summary: str, **options: Any) -> Route:
        return self.route("GET", path, rpc, summary, **{"body": "", **options})

    def post(self, path: str, rpc: str, summary: str, **options: Any) -> Route:
        return self.route("POST", path, rpc, summary, **options)

    def put(self, path: str, rpc: str, summary: str, **options: Any) -> Route:
        return self.route("PUT", path, rpc, summary, **options)

    def patch(self, path: str, rpc: str, summary: str, **options: Any) -> Route:
        return self.route("PATCH", path, rpc, summary, **options)

    def delete(self, path: str, rpc: str, summary: str, **options: Any) -> Route:
        return self.route("DELETE", path, rpc, summary, **{"body": "", **options})


def view(method: str, path: str, function: Callable[..., Any], summary: str, *, tag: str, **options: Any) -> Route:
    """A hand-written view and its description (request, responses, statuses, headers)."""
    return Route(method, path, summary, tag, view=function, body="", **options)
