"""Report exports as byte streams: CSV (UTF-8 with BOM, so Excel reads Chinese) and XLSX.

Decimals are written as numbers with two decimals; datetimes as UTC. Text that a spreadsheet
would run as a formula is prefixed with an apostrophe (CSV/formula injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime, UTC
from decimal import ROUND_HALF_UP, Decimal

from openpyxl import Workbook

from .errors import ValidationFailed
from .money import CENT

Cell = str | int | Decimal | date | datetime | bool | None

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_DECIMAL_FORMAT = "0.00"
_DATE_FORMAT = "yyyy-mm-dd"
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"


def _check(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> list[Sequence[Cell]]:
    if not header:
        raise ValidationFailed("needs at least one column", "header")
    checked = []
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise ValidationFailed(f"has {len(row)} cells, header has {len(header)}", f"rows[{i}]")
        for j, cell in enumerate(row):
            if isinstance(cell, float):
                raise ValidationFailed("floats are not accepted; use Decimal", f"rows[{i}][{j}]")
        checked.append(row)
    return checked


def _safe_text(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def _two_places(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _utc(value: datetime) -> datetime:
    if value.utcoffset() is None:
        raise ValidationFailed("datetimes must be timezone-aware", "rows")
    return value.astimezone(UTC)


def _csv_text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, Decimal):
        return str(_two_places(cell))
    if isinstance(cell, datetime):
        return _utc(cell).isoformat().replace("+00:00", "Z")
    if isinstance(cell, (int, date)):
        return cell.isoformat() if isinstance(cell, date) else str(cell)
    return _safe_text(str(cell))


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    checked = _check(header, rows)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_safe_text(h) for h in header])
    writer.writerows([_csv_text(c) for c in row] for row in checked)
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(header: Sequence[str], rows: Iterable[Sequence[Cell]], sheet_title: str = "Report") -> bytes:
    checked = _check(header, rows)
    workbook = Workbook()
    sheet = workbook.worksheets[0]  # a new workbook has exactly one sheet
    sheet.title = sheet_title[:31]  # Excel's limit on sheet names
    sheet.append([_safe_text(h) for h in header])
    for r, row in enumerate(checked, start=2):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(row=r, column=c)
            if isinstance(value, Decimal):
                cell.value = _two_places(value)
                cell.number_format = _DECIMAL_FORMAT
            elif isinstance(value, datetime):
                # XLSX has no zones: store UTC wall time.
                cell.value = _utc(value).replace(tzinfo=None)
                cell.number_format = _DATETIME_FORMAT
            elif isinstance(value, date):
                cell.value = value
                cell.number_format = _DATE_FORMAT
            elif isinstance(value, str):
                cell.value = _safe_text(value)
            else:
                cell.value = value
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
