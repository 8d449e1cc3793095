from datetime import date, datetime
from decimal import Decimal

import pytest

from salesgrid_analytics.domain import facts as f
from salesgrid_analytics.domain.errors import Conflict, ValidationFailed

from analytics_factories import at, check_in, created, moved

BASE = {"event_id": "e1", "occurred_at": at(2026, 3, 1), "owner_id": "rep-a", "org_path": "/acme/east"}


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"event_id": " "}, "event_id"),
        ({"owner_id": ""}, "owner_id"),
        ({"occurred_at": datetime(2026, 3, 1)}, "occurred_at"),
        ({"org_path": "acme"}, "org_path"),
        ({"org_path": "/acme//east"}, "org_path"),
    ],
)
def test_fact_envelope_validated(override, field):
    with pytest.raises(ValidationFailed) as info:
        f.CustomerCreated(**{**BASE, **override}, customer_id="c1")
    assert info.value.field == field


def test_org_path_normalized():
    assert f.CustomerCreated(**{**BASE, "org_path": "/acme/east/"}, customer_id="c").org_path == "/acme/east"


@pytest.mark.parametrize(
    ("amount", "currency", "field"),
    [
        (Decimal("-1"), "CNY", "amount"),
        (Decimal("1.001"), "CNY", "amount"),
        (Decimal("1"), "yuan", "currency"),
    ],
)
def test_money_facts_validated(amount, currency, field):
    with pytest.raises(ValidationFailed) as info:
        f.ContractSigned(**BASE, contract_id="k", amount=amount, currency=currency)
    assert info.value.field == field


def test_opportunity_facts_need_ids_and_stages():
    with pytest.raises(ValidationFailed) as info:
        f.StageChanged(**BASE, opportunity_id="o", from_stage="", to_stage="approval")
    assert info.value.field == "from_stage"
    with pytest.raises(ValidationFailed) as info:
        f.OpportunityWon(**BASE, opportunity_id="")
    assert info.value.field == "opportunity_id"


def test_report_timing_must_be_known():
    with pytest.raises(ValidationFailed) as info:
        f.DailyReportSubmitted(**BASE, report_date=date(2026, 3, 1), timing="early")  # type: ignore[arg-type]
    assert info.value.field == "timing"


def test_unique_facts_drops_duplicates_and_orders_by_time():
    first = created("o1", at(2026, 3, 1))
    second = moved("o1", "opportunity", "approval", at(2026, 3, 5))
    third = check_in(at(2026, 3, 3))
    assert f.unique_facts([second, third, first, second, first]) == (first, third, second)


def test_same_time_ordered_by_event_id():
    a = check_in(at(2026, 3, 1))
    b = f.CheckInRecorded(**{**BASE, "event_id": "a-first", "occurred_at": a.occurred_at}, customer_id="c")
    assert f.unique_facts([a, b])[0] is b


def test_event_id_reused_for_different_content_is_a_conflict():
    one = created("o1", at(2026, 3, 1), event_id="same")
    other = created("o2", at(2026, 3, 1), event_id="same")
    with pytest.raises(Conflict) as info:
        f.unique_facts([one, other])
    assert info.value.field == "event_id"


def test_selection_covers_subtree_and_owner():
    selection = f.Selection("/acme/east", "rep-a")
    assert selection.covers("rep-a", "/acme/east/sh")
    assert not selection.covers("rep-b", "/acme/east/sh")
    assert not f.Selection("/acme/east").covers("rep-a", "/acme/eastern")
    with pytest.raises(ValidationFailed) as info:
        f.Selection("east")
    assert info.value.field == "subtree"
