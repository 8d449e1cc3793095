"""Requests refused by the HTTP server before the app sees them (a malformed request line or
headers) answered as RFC 9457 problem+json like every other error of the API, instead of
uvicorn's plain-text page: gunicorn_conf runs `GatewayWorker`, whose HTTP protocol writes
`problem_bytes`. (A request line over the limit reaches the app, which answers 414: app.py.)"""

from __future__ import annotations

import json
import uuid

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker

from salesgrid_gateway.problems import TITLES

DETAILS = {
    400: "the request is malformed",
    414: "the request line (method, path and query) is too long",
    431: "the request headers are too large",
    417: "unsupported Expect header",
    501: "this HTTP method is not implemented",
    403: "request forbidden",
}


def problem_bytes(status: int, reason: str) -> bytes:
    """The whole HTTP response (gunicorn writes it to the socket and closes the connection)."""
    request_id = uuid.uuid4().hex
    body = json.dumps(
        {
            "type": f"https://salesgrid.dev/problems/{TITLES.get(status, reason).lower().replace(' ', '-')}",
            "title": TITLES.get(status, reason),
            "status": status,
            "detail": DETAILS.get(status, reason),  # never the raw request: it may hold anything
            "instance": f"urn:request:{request_id}",
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n"
        f"X-Request-Id: {request_id}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, its refusals of malformed requests as problem+json."""

    def send_400_response(self, msg: str) -> None:
        self.transport.write(problem_bytes(400, "Bad Request"))
        self.transport.close()


class GatewayWorker(UvicornWorker):
    """gunicorn's worker running the gateway on uvicorn: httptools with problem+json refusals,
    uvloop, no access log of its own (the gateway writes one structured line per request), no
    proxy-header rewriting of the client address (SALESGRID_TRUSTED_PROXY_HEADER decides that),
    no Server header."""

    CONFIG_KWARGS = {
        "loop": "uvloop",
        "http": ProblemHttpToolsProtocol,
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
        "lifespan": "on",
    }
