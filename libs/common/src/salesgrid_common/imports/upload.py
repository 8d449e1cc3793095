"""Receiving an import file streamed over gRPC: chunks (`format` on the first, `data` on each)
written to a spool file, the size checked as they arrive."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from typing import IO, Protocol

from salesgrid_common.imports import model

SPOOL_IN_MEMORY = 8 << 20  # larger uploads spill to a temporary file


class Chunk(Protocol):
    @property
    def format(self) -> str: ...
    @property
    def data(self) -> bytes: ...


async def receive(chunks: AsyncIterator[Chunk], spool: IO[bytes], max_bytes: int = model.MAX_FILE_BYTES) -> str:
    """Write the stream into `spool`; the format the first chunk names ("" when none came). Each
    write is one chunk, bounded by the gRPC message limit: short enough for the loop."""
    fmt: str | None = None
    async for chunk in chunks:
        if fmt is None:
            fmt = chunk.format  # the first chunk names the format
        model.check_size(spool.tell() + len(chunk.data), max_bytes)
        spool.write(chunk.data)
    return fmt or ""


def spool() -> tempfile.SpooledTemporaryFile[bytes]:
    """Where an upload is received: memory up to SPOOL_IN_MEMORY, then a temporary file."""
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
