"""Reading an uploaded import file row by row from its spool file (never whole in memory), and
handing the parsing (CPU work) to a worker thread a batch at a time."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from typing import IO, Any, TypeVar

from salesgrid_common.errors import ValidationFailed
from salesgrid_common.imports import model

T = TypeVar("T")
STAGE_BATCH = 1000  # rows parsed per trip to a worker thread (and staged per insert)


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
    """The first sheet's rows, read by calamine (Rust): 100,000 rows parse in about 0.4 s of CPU
    where openpyxl's read-only mode took 7.5 s on the same file, holding the GIL the service's
    loop needs. The sheet's cells are held in memory while staging (about 30 MB per 100,000 rows
    of three columns; the upload itself stays in its spool file)."""
    from python_calamine import CalamineWorkbook  # only imports pay for it

    spool.seek(0)
    try:
        book = CalamineWorkbook.from_filelike(spool)
        sheet = book.get_sheet_by_index(0)
    except Exception:
        raise ValidationFailed("the file is not an XLSX workbook", "file") from None
    try:
        for row in sheet.iter_rows():
            yield [_cell(value) for value in row]
    finally:
        book.close()


def _cell(value: object) -> object:
    """Excel stores every number as a float: a whole one (a phone number, a count) reads as the
    integer a person typed, as openpyxl gave it, not as "13800138000.0"."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def read_rows(spool: IO[bytes], fmt: str) -> Iterator[list[object]]:
    """Rows of the first sheet (xlsx) or of the CSV, header first."""
    return _xlsx_rows(spool) if fmt == "xlsx" else _csv_rows(spool)  # type: ignore[return-value]


def next_rows(rows: Iterator[Sequence[object]], header: Sequence[str], size: int = STAGE_BATCH) -> list[dict[str, str]]:
    """Up to `size` more non-blank rows as column → text; none at the end of the file."""
    return list(islice(filter(None, (model.row_values(header, cells) for cells in rows)), size))


async def off_loop(func: Callable[..., T], *args: Any) -> T:
    """asyncio.to_thread, except that a cancelled call still waits for the thread: the file's reader
    is closed afterwards, and a generator cannot be closed while a thread is inside it."""
    work = asyncio.ensure_future(asyncio.to_thread(func, *args))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait([work])
        raise
