"""The gateway's HTTP plumbing on ASGI: the request being answered (`request`, `g`), responses,
and the wire (reading a body, sending an answer).

Why not a framework: the gateway is a route table (rest/) with one pipeline in front of it
(app.py); what it needs from HTTP is a request, a response and the route matching it (Werkzeug's
router). Measured on this repository's 2-core machine, a trivial gRPC-backed route ran at 1.65× a
Flask view's rate as a plain ASGI app on uvicorn, and at 1.26× behind Starlette's request, routing
and response objects (docs/performance.md, "Eighth round").

`request` and `g` are bound to the task answering the request (a context variable), so the route
table's views and helpers read them as they did under Flask."""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import orjson
from werkzeug.datastructures import MultiDict

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
_STR_KEYS_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
_JSON_FRAGMENT, _STR_KEYS_FRAGMENT = (
    _JSON_OPTIONS & ~orjson.OPT_APPEND_NEWLINE,
    _STR_KEYS_OPTIONS & ~orjson.OPT_APPEND_NEWLINE,
)


class BodyTooLarge(Exception):
    """The body is over the gateway's limit (a 413)."""


class Headers(dict[str, str]):
    """Request headers by lower-case name (a repeated header's values joined with ", ")."""

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return dict.get(self, name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name.lower()) if isinstance(name, str) else False

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, name.lower())


class QueryArgs(MultiDict[str, str]):
    """The query's parameters. `get` without a `type` looks the key up instead of catching
    MultiDict's KeyError (a BadRequestKeyError, an HTTP exception built for every absent one)."""

    def get(self, key: str, default: Any = None, type: Any = None) -> Any:  # type: ignore[override]  # noqa: A002
        if type is None:
            values = dict.get(self, key)
            return values[0] if values else default
        return super().get(key, default, type)


class Request:
    """What the client sent. The body is read before the view runs (`get_data`), except on routes
    that stream it (`stream`)."""

    def __init__(self, scope: Scope, receive: Receive, max_body: int) -> None:
        self.scope = scope
        self._receive = receive
        self.max_body = max_body
        self.method: str = scope["method"]
        self.path: str = scope["path"]
        self.query_string: bytes = scope.get("query_string", b"")
        headers = Headers()
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{dict.__getitem__(headers, name)}, {value}" if name in headers else value
        self.headers = headers
        content_type = headers.get("content-type", "")
        self.mimetype = content_type.partition(";")[0].strip().lower()
        length = headers.get("content-length")
        self.content_length: int | None = int(length) if length and length.isdigit() else None
        client = scope.get("client")
        self.remote_addr: str = client[0] if client else ""
        self.rule: str | None = None  # the matched route's rule (metrics, spans, access log)
        self._args: QueryArgs | None = None
        self._body: bytes | None = None

    @property
    def args(self) -> QueryArgs:
        if self._args is None:
            text = self.query_string.decode("utf-8", "replace")
            self._args = QueryArgs(parse_qsl(text, keep_blank_values=True, errors="replace"))
        return self._args

    @property
    def full_path(self) -> str:
        return f"{self.path}?{self.query_string.decode('utf-8', 'replace')}"

    @property
    def is_json(self) -> bool:
        return self.mimetype == "application/json" or (
            self.mimetype.startswith("application/") and self.mimetype.endswith("+json")
        )

    async def read_body(self) -> bytes:
        """The whole body (at most `max_body` bytes: BodyTooLarge past it)."""
        if self._body is None:
            if self.content_length is not None and self.content_length > self.max_body:
                raise BodyTooLarge
            if not self.content_length and "transfer-encoding" not in self.headers:
                self._body = b""  # nothing was sent (a GET): no need to wait for the server's empty message
            else:
                self._body = b"".join([chunk async for chunk in self.stream()])
        return self._body

    def get_data(self) -> bytes:
        assert self._body is not None, "this route streams its body: read request.stream()"
        return self._body

    def get_json(self, silent: bool = False) -> Any:
        try:
            return orjson.loads(self.get_data())
        except orjson.JSONDecodeError:
            if silent:
                return None
            raise

    async def stream(self, size: int = 1 << 16) -> AsyncIterator[bytes]:
        """The body in pieces of at most `size` bytes as they arrive (at most `max_body` in all)."""
        if self._body is not None:
            for start in range(0, len(self._body), size):
                yield self._body[start : start + size]
            return
        received = 0
        pending = b""
        more = True
        while more:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ConnectionError("the client went away")
            pending += message.get("body", b"")
            more = message.get("more_body", False)
            received += len(message.get("body", b""))
            if received > self.max_body:
                raise BodyTooLarge
            while len(pending) >= size or (pending and not more):
                yield pending[:size]
                pending = pending[size:]


class Response:
    """An answer: a body (bytes, or an async iterator of bytes for a streamed download)."""

    __slots__ = ("body", "status_code", "headers")

    def __init__(
        self,
        body: bytes | str | AsyncIterator[bytes] = b"",
        status: int = 200,
        headers: dict[str, str] | None = None,
        mimetype: str | None = None,
    ) -> None:
        self.body = body.encode() if isinstance(body, str) else body
        self.status_code = status
        self.headers: dict[str, str] = {}
        if mimetype:
            text = mimetype.startswith("text/") and "charset" not in mimetype
            self.headers["Content-Type"] = f"{mimetype}; charset=utf-8" if text else mimetype
        if headers:
            self.headers.update(headers)

    @property
    def is_streamed(self) -> bool:
        return not isinstance(self.body, bytes)

    @property
    def mimetype(self) -> str:
        return self.headers.get("Content-Type", "").partition(";")[0]

    def get_data(self) -> bytes:
        assert isinstance(self.body, bytes)
        return self.body


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> bytes:
    """JSON as the API writes it: keys sorted, non-ASCII text as UTF-8, one trailing newline.
    Keys other than strings (a number, a date) are written as their text; orjson is about a third
    faster when it may assume string keys, so it tries that first (the same bytes: tests/test_web.py)."""
    try:
        return orjson.dumps(value, default=_default, option=_STR_KEYS_OPTIONS)
    except orjson.JSONEncodeError:  # a key that is not a string (or a value nothing can write)
        return orjson.dumps(value, default=_default, option=_JSON_OPTIONS)


def json_fragment(value: Any) -> orjson.Fragment:
    """`value` as JSON to embed in what `dumps` writes (the same keys, order and text it would
    write for the value in place; no trailing newline)."""
    try:
        return orjson.Fragment(orjson.dumps(value, default=_default, option=_STR_KEYS_FRAGMENT))
    except orjson.JSONEncodeError:
        return orjson.Fragment(orjson.dumps(value, default=_default, option=_JSON_FRAGMENT))


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(value), status, headers, "application/json")


# Header name -> its lower-case bytes as sent. Bounded: the names the gateway writes (its own and the
# services' problem and download headers); past MAX_WIRE_NAMES it is cleared.
_WIRE_NAMES: dict[str, bytes] = {}
MAX_WIRE_NAMES = 256


def _wire_name(name: str) -> bytes:
    if len(_WIRE_NAMES) >= MAX_WIRE_NAMES:
        _WIRE_NAMES.clear()
    found = _WIRE_NAMES[name] = name.lower().encode("latin-1")
    return found


async def send_response(send: Send, response: Response, *, head_only: bool = False) -> None:
    headers = response.headers
    body = response.body
    if isinstance(body, bytes) and "Content-Length" not in headers:
        headers["Content-Length"] = str(len(body))
    names = _WIRE_NAMES
    raw = [(names.get(name) or _wire_name(name), value.encode("latin-1")) for name, value in headers.items()]
    await send({"type": "http.response.start", "status": response.status_code, "headers": raw})
    if isinstance(body, bytes):
        await send({"type": "http.response.body", "body": b"" if head_only else body})
        return
    try:
        async for chunk in body:
            if not head_only and chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
    finally:
        await send({"type": "http.response.body", "body": b""})


class RequestGlobals:
    """What the pipeline and the views keep about the request being answered (Flask's `g`)."""

    def get(self, name: str, default: Any = None) -> Any:
        return self.__dict__.get(name, default)

    def pop(self, name: str, default: Any = None) -> Any:
        return self.__dict__.pop(name, default)

    def setdefault(self, name: str, default: Any) -> Any:
        return self.__dict__.setdefault(name, default)

    def __contains__(self, name: str) -> bool:
        return name in self.__dict__


class Current:
    """The request being answered in this task, its globals and the gateway answering it."""

    __slots__ = ("request", "g", "app")

    def __init__(self, request: Request, app: Any) -> None:
        self.request = request
        self.g = RequestGlobals()
        self.app = app


_current: contextvars.ContextVar[Current] = contextvars.ContextVar("salesgrid_gateway_request")


def bind(current: Current) -> contextvars.Token[Current]:
    return _current.set(current)


def unbind(token: contextvars.Token[Current]) -> None:
    _current.reset(token)


def current() -> Current:
    return _current.get()


class _RequestProxy:
    def __getattr__(self, name: str) -> Any:
        return getattr(_current.get().request, name)


class _GlobalsProxy:
    def __getattr__(self, name: str) -> Any:
        found = _current.get().g.__dict__
        if name in found:
            return found[name]
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(_current.get().g, name, value)

    def get(self, name: str, default: Any = None) -> Any:
        return _current.get().g.get(name, default)

    def pop(self, name: str, default: Any = None) -> Any:
        return _current.get().g.pop(name, default)

    def setdefault(self, name: str, default: Any) -> Any:
        return _current.get().g.setdefault(name, default)

    def __contains__(self, name: str) -> bool:
        return name in _current.get().g


request: Request = _RequestProxy()  # type: ignore[assignment]
g: RequestGlobals = _GlobalsProxy()  # type: ignore[assignment]
