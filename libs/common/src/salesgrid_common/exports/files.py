"""Streaming CSV and XLSX writers: rows go in one by one, bytes come out in chunks, so an export
of a million rows never holds them in memory. CSV is UTF-8 with a BOM (Excel reads Chinese);
text a spreadsheet would run as a formula gets an apostrophe (formula injection); datetimes are
UTC. XLSX uses openpyxl's write-only mode, which streams rows to a temporary file."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator, Sequence
from datetime import date, datetime, UTC
from decimal import Decimal
from typing import Any

CHUNK_BYTES = 1 << 20
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, datetime):
        return cell.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, (int, float, Decimal)):
        return str(cell)
    if isinstance(cell, (list, tuple)):
        return safe_text(";".join(str(c) for c in cell))
    return safe_text(str(cell))


class CsvWriter:
    def __init__(self, header: Sequence[str]) -> None:
        self._buffer = io.StringIO(newline="")
        self._csv = csv.writer(self._buffer, lineterminator="\r\n")
        self._pending = bytearray("\ufeff".encode())
        self._csv.writerow([safe_text(h) for h in header])

    def add(self, row: Sequence[Any]) -> Iterator[bytes]:
        self._csv.writerow([csv_text(c) for c in row])
        if self._buffer.tell() > 64 << 10:
            yield from self._drain()

    def _drain(self) -> Iterator[bytes]:
        self._pending += self._buffer.getvalue().encode()
        self._buffer.seek(0)
        self._buffer.truncate()
        while len(self._pending) >= CHUNK_BYTES:
            yield bytes(self._pending[:CHUNK_BYTES])
            del self._pending[:CHUNK_BYTES]

    def finish(self) -> Iterator[bytes]:
        yield from self._drain()
        if self._pending:
            yield bytes(self._pending)
            self._pending.clear()


class XlsxWriter:
    def __init__(self, header: Sequence[str], sheet_title: str = "Export") -> None:
        from openpyxl import Workbook

        self._workbook = Workbook(write_only=True)
        self._sheet = self._workbook.create_sheet(sheet_title[:31])
        self._sheet.append([safe_text(h) for h in header])

    def add(self, row: Sequence[Any]) -> Iterator[bytes]:
        self._sheet.append([_xlsx_value(c) for c in row])
        return iter(())

    def finish(self) -> Iterator[bytes]:
        with tempfile.TemporaryFile() as out:
            self._workbook.save(out)
            out.seek(0)
            while chunk := out.read(CHUNK_BYTES):
                yield chunk


def _xlsx_value(cell: Any) -> Any:
    if isinstance(cell, datetime):
        return cell.astimezone(UTC).replace(tzinfo=None)  # XLSX has no zones: UTC wall time
    if isinstance(cell, str):
        return safe_text(cell)
    if isinstance(cell, (list, tuple)):
        return safe_text(";".join(str(c) for c in cell))
    return cell


def writer_for(file_format: str, header: Sequence[str]) -> CsvWriter | XlsxWriter:
    return CsvWriter(header) if file_format == "csv" else XlsxWriter(header)
