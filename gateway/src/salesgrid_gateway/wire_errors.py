"""Requests refused by gunicorn before the app sees them (a request line over its limit, bad
headers, a malformed request) answered as RFC 9457 problem+json like every other error of the
API, instead of gunicorn's HTML page. gunicorn_conf installs `write_problem` in place of
gunicorn.util.write_error."""

from __future__ import annotations

import json
import uuid
from typing import Any

from gunicorn import util

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


def write_problem(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    util.write_nonblock(sock, problem_bytes(status_int, reason))


def install() -> None:
    util.write_error = write_problem
