"""The gateway: an ASGI application (gunicorn with uvicorn workers:
`salesgrid_gateway.app:create_app()`), its routes generated from the route table (rest/, routes/)
plus the console, the API reference and the operational endpoints."""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, RequestRedirect, Rule

from salesgrid.identity.v1 import identity_pb2, identity_pb2_grpc
from salesgrid_common.auth.verifiers import AsyncTokenVerifier
from salesgrid_common.errors import DomainError
from salesgrid_common.logs import setup_logging
from salesgrid_common.settings import load_settings
from salesgrid_common.tracing import setup_tracing
from salesgrid_gateway import console, docs, idempotency, pipeline, ratelimit, routes
from salesgrid_gateway.clients import Channels
from salesgrid_gateway.empty_ids import names_an_empty_id
from salesgrid_gateway.openapi import OpenApi
from salesgrid_gateway.problems import ApiProblem, from_domain, problem_response
from salesgrid_gateway.ratelimit import SharedRateLimiter
from salesgrid_gateway.rest.views import make_view
from salesgrid_gateway.routing import SegmentRouter
from salesgrid_gateway.security import ApiKeyExchange
from salesgrid_gateway.settings import GatewaySettings
from salesgrid_gateway.shared_store import shared_store
from salesgrid_gateway.web import (
    BodyTooLarge,
    Current,
    Receive,
    Request,
    Response,
    Scope,
    Send,
    bind,
    json_response,
    send_response,
    unbind,
)

log = logging.getLogger(__name__)
View = Callable[..., Awaitable[Response]]
MAX_BODY_BYTES = 64 << 20  # imports carry whole files; JSON bodies are small anyway
MAX_REQUEST_LINE = 4094  # method, path, query and version, as gunicorn's sync workers limited it


def route_modules() -> list:  # type: ignore[type-arg]
    """Every module in salesgrid_gateway.routes exposing a route table `ROUTES`: a service's REST
    surface is added by dropping in one module."""
    found = []
    for info in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routes.__name__}.{info.name}")
        if hasattr(module, "ROUTES"):
            found.append(module)
    return found


class Gateway:
    """The ASGI application: routing, the pipeline around each view, errors as problem+json."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.channels = Channels()
        self.verifier = AsyncTokenVerifier(self._fetch_jwks, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
        self.api_keys = ApiKeyExchange()
        self.store = shared_store(
            settings, {ratelimit.BUCKET: ratelimit.TTL_SECONDS, idempotency.BUCKET: idempotency.TTL_SECONDS}
        )
        self.limiter = SharedRateLimiter(self.store)
        self.cors_origins = {o.strip() for o in settings.cors_origins.split(",") if o.strip()}
        self.api = OpenApi()
        # An empty path segment is an empty id, not a shorter path: with merging, POST
        # /v1/opportunities//regress matched /v1/opportunities/{id} (405) instead of being a 404.
        self.url_map = Map(merge_slashes=False)
        self.views: dict[str, tuple[View, bool]] = {}  # endpoint -> (view, streams its body)
        for module in route_modules():
            for route in getattr(module, "ROUTES", ()):
                self._add(route.method, route.rule, route.endpoint, make_view(route), route.streams_body)
                self.api.add(route)
            self.api.schemas.update(getattr(module, "SCHEMAS", {}))  # named schemas the routes refer to
        for method, rule, view in (*docs.ROUTES, *console.ROUTES, *self._operations()):
            self._add(method, rule, f"{method.lower()}:{rule}", view, False)
        self.router = self.url_map.bind("gateway")
        # (path, method) -> rule of the routes without parameters (/v1/me, /v1/customers...): the
        # rule Werkzeug's matcher would find for that exact path (tests/test_route_table.py).
        self.static_routes = {
            (rule.rule, method): rule
            for rule in self.url_map.iter_rules()
            if not rule.arguments
            for method in rule.methods or ()
        }
        self.segments = SegmentRouter(self.url_map)  # the routes with parameters Werkzeug would surely match

    def _add(self, method: str, rule: str, endpoint: str, view: View, streams: bool) -> None:
        self.url_map.add(Rule(rule, endpoint=endpoint, methods=[method]))
        self.views[endpoint] = (view, streams)

    def openapi_document(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of this gateway's API (served at /openapi.json)."""
        document = self.api.document()
        idempotency.document(document["paths"])
        return document

    def auth_stub(self) -> identity_pb2_grpc.AuthStub:
        return self.channels.stub(identity_pb2_grpc.AuthStub, self.settings.identity_addr)

    async def _fetch_jwks(self) -> str:
        request = identity_pb2.GetJwksRequest()
        return str((await self.auth_stub().GetJwks(request, timeout=self.settings.grpc_timeout_seconds)).json)

    # -- ASGI ------------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.serve(scope, receive, send)
        elif scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    async def close(self) -> None:
        await self.channels.close()
        closing = getattr(self.store, "close", None)
        if closing is not None:
            await closing()

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, MAX_BODY_BYTES)
        current = Current(request, self)
        token = bind(current)
        try:
            response = await self.answer(request, current)
            await send_response(send, response, head_only=request.method == "HEAD")
        finally:
            await pipeline.end(self, current.g)
            unbind(token)

    async def answer(self, request: Request, current: Current) -> Response:
        g = current.g
        view: View | None = None
        values: dict[str, Any] = {}
        refused: HTTPException | None = None
        streams = False
        try:
            found = self.static_routes.get((request.path, request.method))
            if found is not None:
                rule = found
            elif (sure := self.segments.match(request.path, request.method)) is not None:
                rule, values = sure
            else:
                rule, values = self.router.match(request.path, request.method, return_rule=True)
            request.rule = rule.rule
            view, streams = self.views[rule.endpoint]  # type: ignore[index]
        except HTTPException as error:
            refused = error
        pipeline.start(self, request, g)
        try:
            line = len(request.method) + len(scope_path(request)) + len(request.query_string) + 11
            if line > MAX_REQUEST_LINE:
                raise ApiProblem(414, "the request line (method, path and query) is too long")
            if not streams:
                await request.read_body()
            response = await pipeline.admit(self, request, g, streams=streams)
            if response is None:
                if refused is not None:
                    raise refused
                assert view is not None
                response = await view(**values)
        except ApiProblem as problem:
            if problem.code == idempotency.REUSED and g.get("idempotency") is not None:
                # A service holds the key for another request: this request is not the key's.
                await idempotency.release(self.store, g.pop("idempotency"))
            response = problem_response(problem)
        except DomainError as error:
            response = problem_response(from_domain(error))
        except BodyTooLarge:
            response = problem_response(ApiProblem(413, f"the body is over {MAX_BODY_BYTES} bytes"))
        except RequestRedirect as redirect:  # a collection's URL without its trailing slash
            response = Response(b"", redirect.code, {"Location": redirect.new_url.partition("://gateway")[2]})
        except HTTPException as error:
            response = self._routing_problem(request, error)
        except Exception:
            log.exception("unhandled error")
            response = problem_response(ApiProblem(500, "internal error"))
        await pipeline.finish(self, request, g, response)
        return response

    def _routing_problem(self, request: Request, error: HTTPException) -> Response:
        if isinstance(error, MethodNotAllowed) and names_an_empty_id(self.url_map, request.path, request.method):
            return problem_response(ApiProblem(404, "a path parameter is empty: the URL names no record"))
        return problem_response(ApiProblem(error.code or 500, error.description or error.name))

    # -- the gateway's own endpoints -------------------------------------------------------------
    def _operations(self) -> list[tuple[str, str, View]]:
        async def healthz() -> Response:
            return json_response({"status": "ok"})

        async def readyz() -> Response:
            try:
                health = self.channels.stub(health_pb2_grpc.HealthStub, self.settings.identity_addr)
                reply = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
                ready = reply.status == health_pb2.HealthCheckResponse.SERVING
            except grpc.RpcError:
                ready = False
            if ready:
                return json_response({"status": "ready"})
            return json_response({"status": "identity unavailable"}, 503)

        async def metrics() -> Response:
            if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # gunicorn workers: the sum of all (gunicorn_conf)
                registry = CollectorRegistry()
                multiprocess.MultiProcessCollector(registry)
                return Response(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
            return Response(generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

        async def openapi() -> Response:
            return json_response(self.openapi_document())

        return [
            ("GET", "/healthz", healthz),
            ("GET", "/readyz", readyz),
            ("GET", "/metrics", metrics),
            ("GET", "/openapi.json", openapi),
        ]


def scope_path(request: Request) -> bytes:
    return request.scope.get("raw_path") or request.path.encode()  # type: ignore[no-any-return]


def create_app(settings: GatewaySettings | None = None) -> Gateway:
    settings = settings or load_settings(GatewaySettings)
    setup_logging("gateway", settings.log_level)
    setup_tracing("gateway", settings.otlp_endpoint, settings.trace_sample_ratio)
    return Gateway(settings)
