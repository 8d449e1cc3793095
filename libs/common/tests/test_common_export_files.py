"""Export files are written as rows arrive: memory stays bounded however many rows go in, chunks
come out at the chunk size, and the content is what a spreadsheet reads back (formula text
defused, UTC times)."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone

from openpyxl import load_workbook

from salesgrid_common.exports import files

START = datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=8)))


def _rows(count: int):  # type: ignore[no-untyped-def]
    for i in range(count):
        yield (
            f"id-{i:07d}",
            f"Customer number {i} with a reasonably long legal name Co., Ltd.",
            "key",
            ["a", "b"],
            START,
            i,
        )


def test_csv_memory_stays_bounded_and_chunks_are_full() -> None:
    writer = files.CsvWriter(["id", "name", "tier", "tags", "at", "n"])
    tracemalloc.start()
    sizes = []
    for row in _rows(60_000):  # ~6.6 MB of CSV
        sizes.extend(len(chunk) for chunk in writer.add(row))
    sizes.extend(len(chunk) for chunk in writer.finish())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4 * files.CHUNK_BYTES, peak  # a chunk or two in flight, never the file
    assert sum(sizes) > 5 * files.CHUNK_BYTES
    assert all(size == files.CHUNK_BYTES for size in sizes[:-1])


def test_csv_and_xlsx_content() -> None:
    rows = [("c1", '=HYPERLINK("x")', "key", ["vip", "east"], START, 3), ("c2", "华为", "normal", [], None, 0)]
    for fmt in ("csv", "xlsx"):
        writer = files.writer_for(fmt, ["id", "name", "tier", "tags", "at", "n"])
        data = b"".join(b"".join(writer.add(r)) for r in rows) + b"".join(writer.finish())
        if fmt == "csv":
            assert data.startswith("\ufeff".encode())
            read = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
            assert read[1] == ["c1", '\'=HYPERLINK("x")', "key", "vip;east", "2026-03-02T01:30:00Z", "3"]
            assert read[2][1] == "华为"
        else:
            sheet = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
            assert sheet[1][:4] == ("c1", '\'=HYPERLINK("x")', "key", "vip;east")
            assert sheet[1][4] == START.astimezone(UTC).replace(tzinfo=None) and sheet[1][5] == 3
