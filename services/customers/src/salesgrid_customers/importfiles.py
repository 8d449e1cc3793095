"""Reading an uploaded import file row by row from its spool file (never whole in memory)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import IO

from salesgrid_customers.domain.errors import ValidationFailed


def _csv_rows(spool: IO[bytes]) -> Iterator[list[str]]:
    spool.seek(0)
    # utf-8-sig drops a leading BOM (Excel writes one) and reads plain UTF-8 alike.
    text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")
    try:
        yield from csv.reader(text)
    except UnicodeDecodeError:
        raise ValidationFailed("the file is not UTF-8 text", "file") from None
    except csv.Error as exc:
        raise ValidationFailed(f"malformed CSV: {exc}", "file") from None
    finally:
        text.detach()


def _xlsx_rows(spool: IO[bytes]) -> Iterator[list[object]]:
    from openpyxl import load_workbook  # only imports pay for it

    spool.seek(0)
    try:
        book = load_workbook(spool, read_only=True, data_only=True)  # read-only: rows stream from the zip
    except Exception:
        raise ValidationFailed("the file is not an XLSX workbook", "file") from None
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        book.close()


def read_rows(spool: IO[bytes], fmt: str) -> Iterator[list[object]]:
    """Rows of the first sheet (xlsx) or of the CSV, header first."""
    return _xlsx_rows(spool) if fmt == "xlsx" else _csv_rows(spool)  # type: ignore[return-value]
