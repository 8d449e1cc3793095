"""The gateway's Flask app factory (gunicorn: `salesgrid_gateway.app:create_app()`)."""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import time
import uuid

import grpc
from flask import Flask, Response, g, jsonify, request
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry import context as otel_context
from opentelemetry.trace import SpanKind, set_span_in_context
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException

from salesgrid.identity.v1 import identity_pb2, identity_pb2_grpc
from salesgrid_common.auth.verifiers import SyncTokenVerifier
from salesgrid_common.errors import DomainError
from salesgrid_common.logs import setup_logging
from salesgrid_common.metrics import HTTP_LATENCY, HTTP_REQUESTS
from salesgrid_common.settings import load_settings
from salesgrid_common.tracing import context_from, setup_tracing, tracer
from salesgrid_gateway import console, docs, idempotency
from salesgrid_gateway.clients import Channels
from salesgrid_gateway.jsonio import OrjsonProvider
from salesgrid_gateway.openapi import OpenApi
from salesgrid_gateway.empty_ids import names_an_empty_id
from salesgrid_gateway.problems import ApiProblem, from_domain, from_rpc, problem_response
from salesgrid_gateway import routes
from salesgrid_gateway.ratelimit import SharedRateLimiter
from salesgrid_gateway.rest.views import make_view
from salesgrid_gateway.security import ApiKeyExchange, client_ip, credentials, verify_jwt
from salesgrid_gateway.settings import GatewaySettings
from salesgrid_gateway.shared_store import shared_store

log = logging.getLogger(__name__)
# One structured line per request (time, trace id, request id, principal, route, status, duration);
# never a token or a body. SALESGRID_LOG_LEVEL=WARNING turns it off.
access_log = logging.getLogger("salesgrid_gateway.access")
TRACE_HEADERS = ("traceparent", "tracestate")


def trace_headers(headers: Headers) -> dict[str, str]:
    """The W3C trace context a caller sent (only these headers are read for it)."""
    return {name: value for name in TRACE_HEADERS if (value := headers.get(name))}


def route_modules() -> list:  # type: ignore[type-arg]
    """Every module in salesgrid_gateway.routes exposing a route table `ROUTES`: a service's REST
    surface is added by dropping in one module."""
    found = []
    for info in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routes.__name__}.{info.name}")
        if hasattr(module, "ROUTES"):
            found.append(module)
    return found


def register_routes(app: Flask, api: OpenApi) -> None:
    """The views and the OpenAPI document, both from the route table."""
    for module in route_modules():
        for route in getattr(module, "ROUTES", ()):
            app.add_url_rule(route.flask_path, route.endpoint, make_view(route), methods=[route.method])
            api.add(route)
        api.schemas.update(getattr(module, "SCHEMAS", {}))  # named schemas the routes refer to


PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/docs",
        "/v1/auth/login",
        "/v1/auth/refresh",
        "/v1/auth/logout",
    }
)
PASSWORD_CHANGE_PATHS = frozenset({"/v1/me", "/v1/auth/password"})
MAX_BODY_BYTES = 64 << 20  # imports carry whole files; JSON bodies are small anyway


def create_app(settings: GatewaySettings | None = None) -> Flask:
    settings = settings or load_settings(GatewaySettings)
    setup_logging("gateway", settings.log_level)
    setup_tracing("gateway", settings.otlp_endpoint, settings.trace_sample_ratio)
    app = Flask(__name__)
    # An empty path segment is an empty id, not a shorter path: with Werkzeug's default merging,
    # POST /v1/opportunities//regress matched /v1/opportunities/{id} (405) instead of being a 404.
    app.url_map.merge_slashes = False
    app.json = OrjsonProvider(app)
    app.config.update(SETTINGS=settings, CHANNELS=Channels(), MAX_CONTENT_LENGTH=MAX_BODY_BYTES)
    channels: Channels = app.config["CHANNELS"]
    auth_stub = identity_pb2_grpc.AuthStub(channels.get(settings.identity_addr))

    def fetch_jwks() -> str:
        return auth_stub.GetJwks(identity_pb2.GetJwksRequest(), timeout=settings.grpc_timeout_seconds).json

    verifier = SyncTokenVerifier(fetch_jwks, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    api_keys = ApiKeyExchange()
    store = shared_store(settings)
    app.config["SHARED_STORE"] = store
    limiter = SharedRateLimiter(store)
    cors_origins = {o.strip() for o in settings.cors_origins.split(",") if o.strip()}
    api = OpenApi()
    register_routes(app, api)
    app.register_blueprint(docs.blueprint)
    app.register_blueprint(console.blueprint)

    span_tracer = tracer(__name__)

    @app.before_request
    def begin() -> Response | None:
        g.started = time.perf_counter()
        g.request_id = request.headers.get("X-Request-Id", "")[:100] or uuid.uuid4().hex
        g.client_ip = client_ip(request, settings.trusted_proxy_header)
        g.otel_token = otel_context.attach(context_from(trace_headers(request.headers)))
        g.span = span_tracer.start_span(
            f"{request.method} {request.url_rule.rule if request.url_rule else request.path}", kind=SpanKind.SERVER
        )
        g.span_token = otel_context.attach(set_span_in_context(g.span))
        if request.method == "OPTIONS":
            return Response(status=204)
        if request.path in PUBLIC_PATHS or request.path.startswith("/docs/") or not request.path.startswith("/v1/"):
            return None
        found = credentials(request)
        if found is None:
            raise ApiProblem(
                401,
                "missing credentials: send Authorization: Bearer <token> or X-API-Key",
                headers={"WWW-Authenticate": 'Bearer realm="salesgrid"'},
                code="UNAUTHENTICATED",
            )
        kind, secret = found
        key_limit = 0
        if kind == "api_key":
            try:
                token, key_limit = api_keys.token_for(secret, g.client_ip, auth_stub, settings.grpc_timeout_seconds)
            except grpc.RpcError as error:
                raise from_rpc(error) from None
        else:
            token = secret
        g.principal = verify_jwt(verifier, token, g.client_ip)
        if g.principal.password_change_required and request.path not in PASSWORD_CHANGE_PATHS:
            raise ApiProblem(
                403,
                "password change required: POST /v1/auth/password, then refresh your tokens",
                code="PASSWORD_CHANGE_REQUIRED",
            )
        if not g.principal.ip_permitted():
            raise ApiProblem(
                403,
                f"access from {g.client_ip or 'an unknown address'} is not allowed for your unit",
                code="IP_NOT_ALLOWED",
            )
        g.token = token
        principal_key = f"{g.principal.kind}:{g.principal.subject_id}"
        g.rate_headers = limiter.hit(
            principal_key,
            key_limit
            or (
                settings.api_key_rate_limit_per_minute
                if g.principal.kind == "api_key"
                else settings.rate_limit_per_minute
            ),
        )
        claim = idempotency.begin(
            store,
            principal_key,
            request,
            idempotency.lease_for(request, settings.grpc_timeout_seconds, settings.upload_timeout_seconds),
        )
        if isinstance(claim, Response):
            return claim
        g.idempotency = claim
        return None

    @app.after_request
    def finish(response: Response) -> Response:
        if g.get("idempotency") is not None:
            idempotency.finish(store, g.pop("idempotency"), response)
        if g.get("idempotent_replayed"):
            response.headers["Idempotent-Replayed"] = "true"
        response.headers["X-Request-Id"] = g.get("request_id", "")
        for key, value in (g.get("rate_headers") or {}).items():
            response.headers[key] = value
        origin = request.headers.get("Origin")
        if origin and origin in cors_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
            response.headers["Access-Control-Allow-Headers"] = (
                "Authorization, Content-Type, If-Match, Idempotency-Key, X-API-Key, X-Request-Id"
            )
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, PUT, DELETE, OPTIONS"
            response.headers["Access-Control-Expose-Headers"] = (
                "ETag, Idempotent-Replayed, Location, RateLimit, RateLimit-Policy, Retry-After, X-Request-Id"
            )
        route = request.url_rule.rule if request.url_rule else "unmatched"
        HTTP_REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        if "started" in g:
            elapsed = time.perf_counter() - g.started
            HTTP_LATENCY.labels(route, request.method).observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                principal = g.get("principal")
                access_log.info(
                    "request",
                    extra={
                        "request_id": g.request_id,
                        "method": request.method,
                        "route": route,
                        "path": request.path,
                        "status": response.status_code,
                        "duration_ms": round(elapsed * 1000, 2),
                        "client_ip": g.get("client_ip", ""),
                        "principal_id": principal.subject_id if principal else "",
                        "principal_kind": principal.kind if principal else "",
                    },
                )
        return response

    @app.teardown_request
    def end_span(_exc: BaseException | None) -> None:
        if g.get("idempotency") is not None:  # no response was produced
            idempotency.release(store, g.pop("idempotency"))
        if "span" in g:
            g.span.end()
            otel_context.detach(g.span_token)
            otel_context.detach(g.otel_token)

    @app.errorhandler(ApiProblem)
    def on_problem(problem: ApiProblem) -> Response:
        if problem.code == idempotency.REUSED and g.get("idempotency") is not None:
            # A service holds the key for another request: this request is not the key's.
            idempotency.release(store, g.pop("idempotency"))
        return problem_response(problem)

    @app.errorhandler(DomainError)
    def on_domain(error: DomainError) -> Response:
        return problem_response(from_domain(error))

    @app.errorhandler(HTTPException)
    def on_http(error: HTTPException) -> Response:
        if error.code == 405 and names_an_empty_id(app.url_map, request.path, request.method):
            return problem_response(ApiProblem(404, "a path parameter is empty: the URL names no record"))
        return problem_response(ApiProblem(error.code or 500, error.description or error.name))

    @app.errorhandler(Exception)
    def on_unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        return problem_response(ApiProblem(500, "internal error"))

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz() -> Response | tuple[Response, int]:
        try:
            health = channels.stub(health_pb2_grpc.HealthStub, settings.identity_addr)  # built once
            reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
            ready = reply.status == health_pb2.HealthCheckResponse.SERVING
        except grpc.RpcError:
            ready = False
        return (jsonify(status="ready"), 200) if ready else (jsonify(status="identity unavailable"), 503)

    @app.get("/metrics")
    def metrics() -> Response:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # gunicorn workers: the sum of all (gunicorn_conf)
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    @app.get("/openapi.json")
    def openapi() -> Response:
        document = api.document()
        idempotency.document(document["paths"])
        return jsonify(document)

    return app
