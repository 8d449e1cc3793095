"""The gateway in-process for tests: `test_client(create_app(settings))` sends requests to the
ASGI app (no socket) and answers synchronously, so a test can drive it from a worker thread
(`await asyncio.to_thread(client.get, path, headers=...)`) while the services it calls run on the
test's event loop.

Requests run on the event loop that was running when the client was made (the test's: the
gateway's gRPC channels then live beside the services'); a client made outside any loop uses one
loop in a background thread, shared by all such clients. Calling the client on the loop's own
thread would wait on itself: that is refused with an error saying so."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import orjson


class TestResponse:
    """An answer: `status_code`, `headers`, `data` (bytes), `text`, `json` / `get_json()`, `mimetype`."""

    __test__ = False  # not a pytest test class

    def __init__(self, reply: httpx.Response, raw: bytes) -> None:
        self.status_code = reply.status_code
        self.headers = reply.headers
        self.data = raw  # as sent (a gzip-encoded body stays encoded)

    @property
    def text(self) -> str:
        return self.data.decode()

    @property
    def mimetype(self) -> str:
        return str(self.headers.get("content-type", "")).partition(";")[0].strip()

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", ""))

    @property
    def json(self) -> Any:
        return self.get_json()

    def get_data(self, as_text: bool = False) -> bytes | str:
        return self.data.decode() if as_text else self.data

    def get_json(self) -> Any:
        return orjson.loads(self.data) if self.data else None


class TestClient:
    __test__ = False

    def __init__(self, app: Any) -> None:
        self.app = app
        try:
            self._loop = asyncio.get_running_loop()
            self._own_loop = False
        except RuntimeError:
            self._loop = _background_loop()
            self._own_loop = True

    def open(
        self,
        path: str,
        method: str = "GET",
        *,
        headers: dict[str, str] | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        content_type: str | None = None,
        query_string: dict[str, Any] | str | None = None,
    ) -> TestResponse:
        if not self._own_loop and _on_loop_thread(self._loop):
            raise RuntimeError("call the test client from another thread: await asyncio.to_thread(client.get, ...)")
        # Header values as bytes: a test may send any latin-1 text, as a client on the wire can.
        sent = {name: _header_bytes(value) for name, value in (headers or {}).items()}
        if content_type is not None:
            sent["Content-Type"] = content_type.encode("latin-1")
        if isinstance(query_string, str):
            path = f"{path}?{query_string}"
            query_string = None

        async def send() -> TestResponse:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
                del client.headers["accept-encoding"]  # only what the test sends (a browser's encodings…)
                built = client.build_request(
                    method, path, headers=sent, json=json, content=data, params=query_string or None
                )
                reply = await client.send(built, stream=True)
                raw = b"".join([chunk async for chunk in reply.aiter_raw()])
                await reply.aclose()
                return TestResponse(reply, raw)

        return asyncio.run_coroutine_threadsafe(send(), self._loop).result()

    def get(self, path: str, **options: Any) -> TestResponse:
        return self.open(path, "GET", **options)

    def post(self, path: str, **options: Any) -> TestResponse:
        return self.open(path, "POST", **options)

    def put(self, path: str, **options: Any) -> TestResponse:
        return self.open(path, "PUT", **options)

    def patch(self, path: str, **options: Any) -> TestResponse:
        return self.open(path, "PATCH", **options)

    def delete(self, path: str, **options: Any) -> TestResponse:
        return self.open(path, "DELETE", **options)

    def options(self, path: str, **options: Any) -> TestResponse:
        return self.open(path, "OPTIONS", **options)

    def head(self, path: str, **options: Any) -> TestResponse:
        return self.open(path, "HEAD", **options)


_background: asyncio.AbstractEventLoop | None = None
_background_lock = threading.Lock()


def _background_loop() -> asyncio.AbstractEventLoop:
    """One loop in a daemon thread for every client made outside a running loop."""
    global _background
    with _background_lock:
        if _background is None:
            _background = asyncio.new_event_loop()
            threading.Thread(target=_background.run_forever, name="gateway-test-client", daemon=True).start()
        return _background


def _header_bytes(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode()


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def test_client(app: Any) -> TestClient:
    return TestClient(app)


test_client.__test__ = False  # type: ignore[attr-defined]
