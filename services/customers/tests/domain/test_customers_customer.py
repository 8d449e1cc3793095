from datetime import datetime, UTC

import pytest

from salesgrid_customers.domain.customer import (
    MAX_TAGS,
    Address,
    Contact,
    Tier,
    check_contacts,
    make_contact,
    make_customer,
    normalise_phone,
    normalise_tags,
    set_primary_contact,
    validate_address,
    validate_email,
    validate_legal_name,
)
from salesgrid_customers.domain.errors import ValidationFailed

NOW = datetime(2024, 5, 1, 8, tzinfo=UTC)


def fields_of(exc: ValidationFailed) -> set[str]:
    return {f for f, _ in exc.violations}


# ---------------------------------------------------------------- legal name


def test_legal_name_is_trimmed_and_collapsed() -> None:
    assert validate_legal_name("  华为技术   有限公司 ") == "华为技术 有限公司"


@pytest.mark.parametrize("raw", ["", "   ", "\u3000"])
def test_legal_name_required(raw: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        validate_legal_name(raw)
    assert exc.value.field == "legal_name"


def test_legal_name_max_200() -> None:
    assert validate_legal_name("名" * 200)
    with pytest.raises(ValidationFailed) as exc:
        validate_legal_name("名" * 201)
    assert exc.value.field == "legal_name"


# ---------------------------------------------------------------- address


def test_address_with_coordinates() -> None:
    address = validate_address(" 深圳市龙岗区坂田 ", 22.65, 114.06)
    assert address.text == "深圳市龙岗区坂田"
    assert address.point is not None and address.point.latitude == 22.65


@pytest.mark.parametrize(
    ("lat", "lon", "field"),
    [
        (90.1, 0.0, "address.latitude"),
        (-91.0, 0.0, "address.latitude"),
        (0.0, 180.5, "address.longitude"),
        (0.0, -181.0, "address.longitude"),
    ],
)
def test_coordinate_ranges(lat: float, lon: float, field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        validate_address("x", lat, lon)
    assert fields_of(exc.value) == {field}


def test_coordinate_bounds_inclusive() -> None:
    assert validate_address("pole", 90.0, -180.0).point is not None


def test_coordinates_come_in_pairs() -> None:
    with pytest.raises(ValidationFailed) as exc:
        validate_address("x", 10.0, None)
    assert exc.value.field == "address.longitude"


def test_address_text_required() -> None:
    with pytest.raises(ValidationFailed) as exc:
        validate_address("  ")
    assert exc.value.field == "address.text"


# ---------------------------------------------------------------- tags


def test_tags_normalised_deduped_ordered() -> None:
    assert normalise_tags(["  ＶＩＰ  Client", "vip client", "", "制造业", "VIP CLIENT"]) == ("vip client", "制造业")


def test_tags_bounded_in_count() -> None:
    assert len(normalise_tags([f"t{i}" for i in range(MAX_TAGS)])) == MAX_TAGS
    with pytest.raises(ValidationFailed) as exc:
        normalise_tags([f"t{i}" for i in range(MAX_TAGS + 1)])
    assert exc.value.field == "tags"


def test_tags_bounded_in_length() -> None:
    with pytest.raises(ValidationFailed) as exc:
        normalise_tags(["x" * 33])
    assert exc.value.field == "tags"


# ---------------------------------------------------------------- phones and e-mail


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("0086 13800138000", "+8613800138000"),
        ("(010) 6552-9988", "01065529988"),
        ("０２１－１２３４５６７８", "02112345678"),
        ("010-65529988 转 123", "01065529988;ext=123"),
        ("+1 (415) 555-0100 ext. 42", "+14155550100;ext=42"),
    ],
)
def test_phone_normalisation(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "abc", "12", "+86 138 0013 8000 1234 5678", "1380013800a"])
def test_phone_rejected_with_field(raw: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        normalise_phone(raw, "contacts[0].phones[1]")
    assert exc.value.field == "contacts[0].phones[1]"


def test_email_domain_lowercased_local_kept() -> None:
    assert validate_email(" Li.Lei@Example.COM ") == "Li.Lei@example.com"


@pytest.mark.parametrize("raw", ["", "no-at-sign", "a@b", "a@@b.com", "a b@c.com", "a@b..com", "a@b.c"])
def test_email_rejected(raw: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        validate_email(raw)
    assert exc.value.field == "email"


# ---------------------------------------------------------------- contacts


def test_make_contact_normalises() -> None:
    c = make_contact(
        "c1",
        " 王 小明 ",
        title=" 采购经理 ",
        phones=["138 0013 8000", "13800138000"],
        email="WXM@Corp.CN",
        primary=True,
    )
    assert c == Contact("c1", "王 小明", "采购经理", ("13800138000",), "WXM@corp.cn", True)


def test_make_contact_reports_all_violations_with_prefixed_fields() -> None:
    with pytest.raises(ValidationFailed) as exc:
        make_contact("c1", " ", phones=["13800138000", "bad"], email="nope", field_prefix="contacts[2]")
    assert fields_of(exc.value) == {"contacts[2].full_name", "contacts[2].phones[1]", "contacts[2].email"}


def test_make_contact_bounds_phones() -> None:
    with pytest.raises(ValidationFailed) as exc:
        make_contact("c1", "A", phones=[f"1380013800{i}" for i in range(6)])
    assert exc.value.field == "contact.phones"


def test_at_most_one_primary_contact() -> None:
    a, b = Contact("a", "A", primary=True), Contact("b", "B", primary=True)
    check_contacts([a, Contact("c", "C")])
    with pytest.raises(ValidationFailed) as exc:
        check_contacts([a, b])
    assert exc.value.field == "contacts.primary"


def test_contact_ids_unique() -> None:
    with pytest.raises(ValidationFailed) as exc:
        check_contacts([Contact("a", "A"), Contact("a", "B")])
    assert exc.value.field == "contacts"


def test_set_primary_moves_the_flag() -> None:
    contacts = (Contact("a", "A", primary=True), Contact("b", "B"))
    result = set_primary_contact(contacts, "b")
    assert [c.primary for c in result] == [False, True]
    with pytest.raises(ValidationFailed) as exc:
        set_primary_contact(contacts, "zz")
    assert exc.value.field == "contact_id"


# ---------------------------------------------------------------- customer


def test_make_customer_happy_path() -> None:
    customer = make_customer(
        id="cu1",
        legal_name=" 华为技术有限公司 ",
        created_at=NOW,
        owner_id="u1",
        owner_unit_path=("root", "sz"),
        credit_code="914403001922038216",
        industry="通信",
        address=Address("深圳"),
        tier="key",
        tags=["VIP", "vip"],
        source="展会",
        contacts=[Contact("c1", "A", primary=True)],
    )
    assert customer.legal_name == "华为技术有限公司"
    assert customer.normalised_name == "华为技术"
    assert customer.tier is Tier.KEY and customer.tags == ("vip",) and customer.version == 1


def test_pool_customer_needs_no_unit_path() -> None:
    assert make_customer(id="cu", legal_name="X", created_at=NOW, owner_id=None).owner_id is None


def test_make_customer_collects_every_violation() -> None:
    with pytest.raises(ValidationFailed) as exc:
        make_customer(
            id="cu1",
            legal_name="",
            created_at=datetime(2024, 1, 1),
            owner_id="u1",
            credit_code="91110000600037341X",
            tier="gold",
            tags=["x" * 40],
            contacts=[Contact("a", "A", primary=True), Contact("b", "B", primary=True)],
            industry="x" * 201,
        )
    assert fields_of(exc.value) == {
        "legal_name",
        "credit_code",
        "tier",
        "tags",
        "contacts.primary",
        "created_at",
        "owner_unit_path",
        "industry",
    }


def test_blank_credit_code_is_absent() -> None:
    customer = make_customer(id="c", legal_name="X", created_at=NOW, owner_id=None, credit_code="  ")
    assert customer.credit_code is None


def test_tier_rank_orders_key_first() -> None:
    assert Tier.KEY.rank > Tier.NORMAL.rank > Tier.POTENTIAL.rank
