import pytest

from salesgrid_customers.domain.credit_code import (
    ALPHABET,
    WEIGHTS,
    compute_check_char,
    compute_org_check_char,
    is_valid_credit_code,
    validate_credit_code,
)
from salesgrid_customers.domain.errors import ValidationFailed

# Published codes of real companies (business licences are public records).
REAL_CODES = [
    "91110000600037341L",
    "914403001922038216",  # 华为技术有限公司
    "91330100716105852F",  # 阿里巴巴(中国)网络技术有限公司
    "9144030071526726XG",  # 深圳市腾讯计算机系统有限公司
]


def test_alphabet_excludes_i_o_s_v_z() -> None:
    assert len(ALPHABET) == 31
    assert not set("IOSVZ") & set(ALPHABET)


def test_weights_are_powers_of_three_mod_31() -> None:
    assert WEIGHTS[:6] == (1, 3, 9, 27, 19, 26)
    assert WEIGHTS[-1] == 28


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code: str) -> None:
    assert validate_credit_code(code) == code


@pytest.mark.parametrize(
    "raw",
    ["91110000600037341l", " 91110000 600037341L ", "911100-006000-37341L", "９１１１００００６０００３７３４１Ｌ"],
)
def test_input_is_cleaned(raw: str) -> None:
    assert validate_credit_code(raw) == "91110000600037341L"


def test_check_char_zero_when_sum_divisible() -> None:
    # 31 - 0 must map to '0', not index 31.
    assert compute_check_char("0" * 17) == "0"


def test_org_check_char_x_and_zero() -> None:
    assert compute_org_check_char("60003734") == "1"
    # find bodies giving 10 and 11 to exercise the 'X' and '0' mappings
    results = {compute_org_check_char(f"{n:08d}") for n in range(200)}
    assert {"X", "0"} <= results


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("9111000060003734L", "18 characters"),
        ("91110000600037341LL", "18 characters"),
        ("911100006000373I1L", "alphabet"),
        ("91A10000600037341L", "administrative division"),
        ("91110000600037351L", "organisation-code"),
        ("91110000600037341X", "position 18"),
        ("", "18 characters"),
    ],
)
def test_invalid_codes_name_the_field(raw: str, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        validate_credit_code(raw)
    assert exc.value.field == "credit_code"
    assert fragment in exc.value.message


def test_every_single_character_change_of_check_is_caught() -> None:
    code = REAL_CODES[1]
    for ch in ALPHABET:
        if ch != code[-1]:
            assert not is_valid_credit_code(code[:-1] + ch)


def test_is_valid_credit_code_bool() -> None:
    assert is_valid_credit_code(REAL_CODES[0])
    assert not is_valid_credit_code("not a code")
