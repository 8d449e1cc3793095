"""Reading uploaded import files (salesgrid_common.imports.files.read_rows), directly: what a person typed in a
spreadsheet arrives as the text they typed, and a file that is not what it claims is refused."""

from __future__ import annotations

import datetime as dt
import io
import tempfile

import pytest
from openpyxl import Workbook

from salesgrid_customers.domain.errors import ValidationFailed
from salesgrid_customers.domain.imports import row_values
from salesgrid_common.imports.files import read_rows


def spooled(data: bytes) -> tempfile.SpooledTemporaryFile[bytes]:
    spool = tempfile.SpooledTemporaryFile(max_size=1 << 20)
    spool.write(data)
    return spool


def xlsx(*rows: list[object]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_cells_read_as_the_text_a_person_typed() -> None:
    data = xlsx(
        ["legal_name", "phone", "employees", "share", "founded", "active", "note"],
        ["星辰科技有限公司", 13800138000, 250, 0.25, dt.date(2019, 3, 1), True, None],
        [None, None, None, None, None, None, None],
        ["  Zeta Corp  ", "0755-8888", 7, 1.5, dt.datetime(2020, 1, 2, 3, 4), False, "x"],
    )
    with spooled(data) as spool:
        rows = list(read_rows(spool, "xlsx"))
    header = [str(cell) for cell in rows[0]]
    texts = [row_values(header, cells) for cells in rows[1:]]
    assert texts[0] == {
        "legal_name": "星辰科技有限公司",
        "phone": "13800138000",  # not "13800138000.0": Excel stores whole numbers as floats
        "employees": "250",
        "share": "0.25",
        "founded": "2019-03-01",  # a date cell: the date, without a midnight time
        "active": "True",
        "note": "",
    }
    assert texts[1] is None  # a blank row
    assert texts[2] is not None and texts[2]["legal_name"] == "Zeta Corp"
    assert texts[2]["employees"] == "7" and texts[2]["share"] == "1.5"
    assert texts[2]["founded"] == "2020-01-02 03:04:00"


def test_many_xlsx_rows_stream_in_order() -> None:
    data = xlsx(["legal_name"], *([f"客户{n:05d}"] for n in range(5000)))
    with spooled(data) as spool:
        names = [row[0] for row in read_rows(spool, "xlsx")]
    assert names == ["legal_name"] + [f"客户{n:05d}" for n in range(5000)]


@pytest.mark.parametrize("data", [b"legal_name\nnot a workbook\n", b"PK\x03\x04 truncated zip", b"\x00" * 64])
def test_a_file_that_is_not_an_xlsx_workbook_is_refused(data: bytes) -> None:
    with spooled(data) as spool, pytest.raises(ValidationFailed) as refused:
        list(read_rows(spool, "xlsx"))
    assert refused.value.field == "file"
    assert "not an XLSX workbook" in str(refused.value)


def test_csv_rows_with_a_bom_and_a_refusal_of_other_encodings() -> None:
    with spooled("\ufefflegal_name,tier\n星辰科技,key\n".encode()) as spool:
        assert list(read_rows(spool, "csv")) == [["legal_name", "tier"], ["星辰科技", "key"]]
    with spooled("legal_name\n星辰科技\n".encode("gb18030")) as spool, pytest.raises(ValidationFailed) as refused:
        list(read_rows(spool, "csv"))
    assert "not UTF-8" in str(refused.value)
