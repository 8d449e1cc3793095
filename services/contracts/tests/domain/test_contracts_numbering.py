from datetime import UTC, datetime

import pytest
from salesgrid_contracts.domain.errors import ValidationFailed
from salesgrid_contracts.domain.numbering import (
    ContractNumber,
    SequenceKey,
    format_contract_number,
    missing_sequences,
    next_sequence,
    parse_contract_number,
    sequence_key,
)


def test_format_pads_the_sequence() -> None:
    assert format_contract_number("SH", 2026, 42) == "SH-2026-000042"
    assert format_contract_number("BJ2", 2027, 999_999) == "BJ2-2027-999999"


@pytest.mark.parametrize(
    ("branch", "year", "seq", "field"),
    [
        ("sh", 2026, 1, "branch_code"),
        ("S", 2026, 1, "branch_code"),
        ("SH-1", 2026, 1, "branch_code"),
        ("SH", 26, 1, "year"),
        ("SH", 2026, 0, "seq"),
        ("SH", 2026, 1_000_000, "seq"),
    ],
)
def test_format_refuses_bad_parts_naming_them(branch: str, year: int, seq: int, field: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        format_contract_number(branch, year, seq)
    assert info.value.field == field


def test_parse_is_the_inverse_of_format() -> None:
    number = parse_contract_number("SH-2026-000042")
    assert number == ContractNumber("SH", 2026, 42)
    assert str(number) == "SH-2026-000042"


@pytest.mark.parametrize("text", ["SH-2026-42", "sh-2026-000042", "SH-2026-000000", "SH2026000042", None])
def test_parse_refuses_malformed_numbers(text: object) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_contract_number(text)
    assert info.value.field == "number"


def test_sequence_runs_from_one_without_gaps() -> None:
    assert next_sequence(None) == 1
    assert next_sequence(41) == 42
    with pytest.raises(ValidationFailed) as info:
        next_sequence(999_999)
    assert info.value.field == "seq"


def test_year_of_the_sequence_is_the_branch_local_year() -> None:
    new_year_in_shanghai = datetime(2025, 12, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 Jan 2026 in Shanghai
    assert sequence_key("SH", new_year_in_shanghai, "Asia/Shanghai") == SequenceKey("SH", 2026)
    assert sequence_key("NY", new_year_in_shanghai, "America/New_York") == SequenceKey("NY", 2025)


def test_sequence_key_validates_its_input() -> None:
    with pytest.raises(ValidationFailed) as info:
        sequence_key("SH", datetime(2026, 1, 1), "Asia/Shanghai")
    assert info.value.field == "created_at"
    with pytest.raises(ValidationFailed) as info:
        sequence_key("SH", datetime(2026, 1, 1, tzinfo=UTC), "Mars/Olympus")
    assert info.value.field == "branch_zone"


def test_missing_sequences_finds_gaps() -> None:
    assert missing_sequences([1, 2, 3]) == []
    assert missing_sequences([3, 1, 5, 1]) == [2, 4]
    assert missing_sequences([]) == []
