import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from salesgrid_analytics.domain.errors import ValidationFailed
from salesgrid_analytics.domain.exports import to_csv, to_xlsx

HEADER = ["销售员", "合同金额", "拜访", "日期", "时间"]
ROWS = [
    ["张三", Decimal("1234.5"), 3, date(2026, 3, 1), datetime(2026, 3, 1, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))],
    ['=HYPERLINK("x")', Decimal("0.125"), None, None, None],
]


def test_csv_has_bom_header_and_two_decimals():
    data = to_csv(HEADER, ROWS)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == HEADER
    assert rows[1] == ["张三", "1234.50", "3", "2026-03-01", "2026-03-01T10:00:00Z"]
    assert rows[2][1] == "0.13"


def test_csv_neutralises_formulas_but_not_negative_numbers():
    rows = list(csv.reader(io.StringIO(to_csv(["a", "b"], [["=1+1", Decimal("-5")]]).decode("utf-8-sig"))))
    assert rows[1] == ["'=1+1", "-5.00"]


def test_csv_of_no_rows_is_just_the_header():
    assert to_csv(["a"], []).decode("utf-8-sig") == "a\r\n"


def test_xlsx_round_trips_with_number_format():
    book = load_workbook(io.BytesIO(to_xlsx(HEADER, ROWS, sheet_title="业绩")))
    sheet = book["业绩"]
    assert [c.value for c in sheet[1]] == HEADER
    amount = sheet.cell(row=2, column=2)
    assert amount.value == pytest.approx(1234.5) and amount.number_format == "0.00"
    assert sheet.cell(row=2, column=1).value == "张三"
    assert sheet.cell(row=2, column=3).value == 3
    assert sheet.cell(row=2, column=5).value == datetime(2026, 3, 1, 10, 0)
    assert sheet.cell(row=3, column=1).value.startswith("'=")
    assert sheet.cell(row=3, column=2).value == pytest.approx(0.13)


@pytest.mark.parametrize("export", [to_csv, to_xlsx])
def test_row_width_must_match_header(export):
    with pytest.raises(ValidationFailed) as info:
        export(["a", "b"], [["x", "y"], ["only one"]])
    assert info.value.field == "rows[1]"


@pytest.mark.parametrize("export", [to_csv, to_xlsx])
def test_floats_and_empty_header_rejected(export):
    with pytest.raises(ValidationFailed) as info:
        export(["a"], [[1.5]])
    assert info.value.field == "rows[0][0]"
    with pytest.raises(ValidationFailed) as info:
        export([], [])
    assert info.value.field == "header"


def test_naive_datetime_rejected():
    with pytest.raises(ValidationFailed):
        to_csv(["t"], [[datetime(2026, 1, 1)]])
