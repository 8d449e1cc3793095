from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from salesgrid_pipeline.domain.gate_facts import (
    DocumentRef,
    FactSpec,
    FactType,
    VisitKind,
    VisitRef,
    check_facts,
    spec_problems,
    value_problems,
)
from salesgrid_pipeline.domain.money import Money

VISITS = FactSpec(
    "visits", "Visits", FactType.VISITS, min_count=2, visit_kinds=frozenset({VisitKind.VISIT, VisitKind.MEETING})
)


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        (FactType.AMOUNT, Money(Decimal("1"), "CNY"), Money(Decimal("-1"), "CNY")),
        (FactType.AMOUNT, Money(Decimal("0"), "CNY"), Decimal("5")),
        (FactType.AMOUNT, Money(Decimal("5"), "EUR"), Money(Decimal("5"), "EURO")),
        (FactType.DATE, date(2024, 1, 1), datetime(2024, 1, 1, tzinfo=UTC)),
        (FactType.DATE, date(2024, 1, 1), "2024-01-01"),
        (FactType.TEXT, "ok", "   "),
        (FactType.TEXT, "ok", "x" * 2001),
        (FactType.ORGANISATIONS, ("设计院",), ()),
        (FactType.ORGANISATIONS, ["A", "B"], ("A", "")),
        (FactType.ORGANISATIONS, ("Acme",), ("Acme", "ＡＣＭＥ")),  # full-width duplicate
        (FactType.DOCUMENT, DocumentRef("d1"), DocumentRef(" ")),
        (FactType.DOCUMENT, DocumentRef("d1"), "d1"),
    ],
)
def test_values_are_checked_per_type(kind: FactType, good: object, bad: object) -> None:
    spec = FactSpec("f", "F", kind)
    assert value_problems(spec, good) == []
    assert value_problems(spec, bad) != []


def test_visits_count_distinct_activities_of_the_required_kinds() -> None:
    enough = (VisitRef("a", VisitKind.VISIT), VisitRef("b", VisitKind.MEETING))
    assert value_problems(VISITS, enough) == []
    calls = (VisitRef("a", VisitKind.VISIT), VisitRef("b", VisitKind.CALL), VisitRef("c", VisitKind.EMAIL))
    assert value_problems(VISITS, calls) == ["needs at least 2 meeting/visit activities, has 1"]
    same_twice = (VisitRef("a", VisitKind.VISIT), VisitRef("a", VisitKind.VISIT))
    assert value_problems(VISITS, same_twice) != []
    assert value_problems(VISITS, ("a", "b")) == ["must be a list of visit references"]


def test_check_facts_reports_missing_and_invalid_by_code() -> None:
    specs = (FactSpec("budget", "Budget", FactType.AMOUNT), FactSpec("bid_date", "Bid date", FactType.DATE), VISITS)
    problems = check_facts(specs, {"bid_date": "tomorrow", "visits": None})
    assert [(p.code, p.problem) for p in problems] == [
        ("budget", "missing"),
        ("bid_date", "invalid"),
        ("visits", "missing"),
    ]


def test_amount_problem_names_the_sub_field() -> None:
    spec = FactSpec("budget", "Budget", FactType.AMOUNT)
    assert value_problems(spec, Money(Decimal("1"), "XYZ")) == ["budget.currency: unknown ISO-4217 currency code 'XYZ'"]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (FactSpec("Budget", "Budget", FactType.AMOUNT), "f.code"),
        (FactSpec("budget", " ", FactType.AMOUNT), "f.name"),
        (FactSpec("budget", "Budget", "money"), "f.type"),  # type: ignore[arg-type]
        (FactSpec("v", "V", FactType.VISITS, min_count=0, visit_kinds=frozenset({VisitKind.VISIT})), "f.min_count"),
        (FactSpec("v", "V", FactType.VISITS, min_count=1), "f.visit_kinds"),
        (FactSpec("d", "D", FactType.DATE, min_count=3), "f"),
    ],
)
def test_fact_definitions_must_be_well_typed(spec: FactSpec, field: str) -> None:
    assert field in [f for f, _ in spec_problems(spec, "f")]


def test_a_well_typed_visits_definition_passes() -> None:
    assert spec_problems(VISITS, "f") == []
