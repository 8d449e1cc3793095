"""One socket write per response instead of two.

uvicorn writes a response's status line and headers when the app sends `http.response.start`
and the body when it sends `http.response.body`: two send() system calls, two TCP segments and
two wake-ups of the client for every answer. `CoalescingTransport` keeps what is written during
one turn of the event loop and writes it at the end of that turn (or at once past FLUSH_BYTES,
or before the connection closes or changes protocol), so a response sent in one go leaves in one
write. The bytes on the wire are the same."""

from __future__ import annotations

import asyncio
from typing import Any

FLUSH_BYTES = 64 << 10  # a streamed download is written as it comes, not held


class CoalescingTransport:
    """An asyncio transport whose writes within one loop turn become one write of the transport it wraps."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)
        self._size += len(data)
        if self._size >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            pending, self._pending, self._size = self._pending, [], 0
            if self._transport.is_closing():  # the client went away meanwhile: as a write would, drop it
                return
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.flush()
        self._transport.set_protocol(protocol)

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, pause_reading, abort...
        return getattr(self._transport, name)
