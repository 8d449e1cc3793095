from datetime import date, datetime, timedelta, UTC
from zoneinfo import ZoneInfo

import pytest

from salesgrid_activities.domain.errors import ValidationFailed
from salesgrid_activities.domain.follow_ups import MAX_NOTES_LENGTH, FollowUpKind, validate_follow_up

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 5, 12, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai


def valid(**overrides: object):
    args: dict[str, object] = dict(
        kind="call",
        occurred_at=NOW - timedelta(hours=1),
        notes="  Discussed the Q3 order.  ",
        customer_id=" cust-1 ",
        tz=SHANGHAI,
        now=NOW,
    )
    args.update(overrides)
    return validate_follow_up(**args)  # type: ignore[arg-type]


def violations(**overrides: object) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as info:
        valid(**overrides)
    return info.value.violations


def fields(**overrides: object) -> set[str]:
    return {field for field, _ in violations(**overrides)}


def test_valid_follow_up_is_normalised() -> None:
    follow_up = valid(
        occurred_at=datetime(2026, 5, 12, 15, 0, tzinfo=SHANGHAI),
        contact_id="c-9",
        opportunity_id=" ",
        next_follow_up_on=date(2026, 5, 20),
    )
    assert follow_up.kind is FollowUpKind.CALL
    assert follow_up.notes == "Discussed the Q3 order."
    assert follow_up.customer_id == "cust-1"
    assert follow_up.contact_id == "c-9"
    assert follow_up.opportunity_id is None
    assert follow_up.occurred_at == datetime(2026, 5, 12, 7, 0, tzinfo=UTC)
    assert follow_up.occurred_at.tzinfo is UTC


@pytest.mark.parametrize("kind", ["call", "email", "meeting", "visit", "other"])
def test_every_kind_is_accepted(kind: str) -> None:
    assert valid(kind=kind).kind.value == kind


def test_unknown_kind_is_rejected() -> None:
    assert fields(kind="fax") == {"kind"}


def test_lead_alone_is_enough() -> None:
    follow_up = valid(customer_id=None, lead_id="lead-1")
    assert follow_up.lead_id == "lead-1" and follow_up.customer_id is None


def test_needs_customer_or_lead() -> None:
    assert fields(customer_id=None, lead_id=None) == {"customer_id"}
    assert fields(customer_id="   ") == {"customer_id"}


def test_contact_and_opportunity_need_a_customer() -> None:
    assert fields(customer_id=None, lead_id="lead-1", contact_id="c-1", opportunity_id="o-1") == {
        "contact_id",
        "opportunity_id",
    }


def test_notes_are_required_and_bounded() -> None:
    assert fields(notes="   ") == {"notes"}
    assert valid(notes="x" * MAX_NOTES_LENGTH).notes == "x" * MAX_NOTES_LENGTH
    assert fields(notes="x" * (MAX_NOTES_LENGTH + 1)) == {"notes"}


def test_next_date_uses_the_local_date_of_the_follow_up() -> None:
    # 2026-05-12 17:00 UTC is already 2026-05-13 01:00 in Shanghai: "the 12th" is in the past there.
    late_evening = datetime(2026, 5, 12, 17, 0, tzinfo=UTC)
    now = late_evening + timedelta(minutes=5)
    assert fields(occurred_at=late_evening, now=now, next_follow_up_on=date(2026, 5, 12)) == {"next_follow_up_on"}
    assert valid(occurred_at=late_evening, now=now, next_follow_up_on=date(2026, 5, 13)).next_follow_up_on == date(
        2026, 5, 13
    )


def test_next_date_same_day_is_allowed_but_not_before() -> None:
    assert valid(next_follow_up_on=date(2026, 5, 12)).next_follow_up_on == date(2026, 5, 12)
    assert fields(next_follow_up_on=date(2026, 5, 11)) == {"next_follow_up_on"}


def test_next_date_must_be_a_date() -> None:
    assert fields(next_follow_up_on=datetime(2026, 6, 1, tzinfo=UTC)) == {"next_follow_up_on"}


def test_occurred_at_must_be_aware_and_not_in_the_future() -> None:
    assert fields(occurred_at=datetime(2026, 5, 12, 7, 0)) == {"occurred_at"}
    assert fields(occurred_at=NOW + timedelta(minutes=11)) == {"occurred_at"}
    assert valid(occurred_at=NOW + timedelta(minutes=9)).occurred_at == NOW + timedelta(minutes=9)


def test_every_bad_field_is_reported_at_once() -> None:
    assert fields(kind="fax", notes="", customer_id=None) == {"kind", "notes", "customer_id"}
