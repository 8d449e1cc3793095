"""Responses leave in one write (coalescing.py): on a real socket, what is written in one turn of
the event loop arrives as written, in one write of the wrapped transport; large streams and a
closing connection are written at once. And the gateway's uvicorn protocol (wire_errors) still
answers whole responses, streamed ones, keep-alive requests and malformed requests."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import uvicorn

from salesgrid_gateway.coalescing import FLUSH_BYTES, CoalescingTransport
from salesgrid_gateway.wire_errors import ProblemHttpToolsProtocol


class Counted:
    """A real transport, its writes counted."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1
        self.transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


async def _pair() -> tuple[Counted, CoalescingTransport, socket.socket]:
    ours, theirs = socket.socketpair()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)
    counted = Counted(transport)  # type: ignore[arg-type]
    theirs.setblocking(False)
    return counted, CoalescingTransport(counted, loop), theirs  # type: ignore[arg-type]


async def _read(peer: socket.socket, size: int) -> bytes:
    loop = asyncio.get_running_loop()
    received = b""
    while len(received) < size:
        received += await asyncio.wait_for(loop.sock_recv(peer, size - len(received)), 5)
    return received


async def test_writes_of_one_loop_turn_leave_in_one_write() -> None:
    counted, transport, peer = await _pair()
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"")
    transport.write(b"{}")
    assert counted.writes == 0
    await asyncio.sleep(0)
    assert counted.writes == 1
    assert await _read(peer, 40) == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
    transport.close()
    peer.close()


async def test_a_large_stream_is_written_as_it_comes_and_close_writes_the_rest() -> None:
    counted, transport, peer = await _pair()
    transport.write(b"x" * FLUSH_BYTES)
    assert counted.writes == 1  # not held for the loop turn
    transport.write(b"tail")
    transport.close()
    assert counted.writes == 2
    assert await _read(peer, FLUSH_BYTES + 4) == b"x" * FLUSH_BYTES + b"tail"
    await asyncio.sleep(0)  # the turn's scheduled flush finds nothing left
    assert counted.writes == 2
    peer.close()


async def test_nothing_is_written_after_the_connection_closed() -> None:
    counted, transport, peer = await _pair()
    transport.write(b"late")
    counted.transport.close()  # the client went away before the loop turn ended
    await asyncio.sleep(0)
    assert counted.writes == 0
    peer.close()


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        for _ in range(3):
            await send({"type": "http.response.body", "body": b"y" * FLUSH_BYTES, "more_body": True})
            await asyncio.sleep(0)
        await send({"type": "http.response.body", "body": b""})
        return
    body = scope["path"].encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def test_the_gateway_protocol_answers_whole_responses() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    config = uvicorn.Config(_app, host="127.0.0.1", port=port, http=ProblemHttpToolsProtocol, log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            replies = [await client.get(f"/item/{n}") for n in range(3)]  # one keep-alive connection
            assert [reply.text for reply in replies] == ["/item/0", "/item/1", "/item/2"]
            streamed = await client.get("/stream")
            assert streamed.status_code == 200 and streamed.content == b"y" * (3 * FLUSH_BYTES)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n")
        refused = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        assert refused.startswith(b"HTTP/1.1 400 ") and b"application/problem+json" in refused
    finally:
        server.should_exit = True
        await serving
