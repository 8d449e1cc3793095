from datetime import date, datetime, time, timedelta, UTC
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from salesgrid_activities.domain.daily_reports import (
    DailyReport,
    Infraction,
    ReportPolicy,
    mark_falsified,
    missing_report,
    submit_report,
    validate_report_content,
)
from salesgrid_activities.domain.report_ledger import compliance_summary, infractions, policy_ledger
from salesgrid_activities.domain.errors import ValidationFailed
from salesgrid_activities.domain.money import Money

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = UTC
BASE = date(2026, 5, 4)
LATER = datetime(2026, 6, 1, tzinfo=UTC)


def filed(rep: str, offset: int, hh: int, mm: int = 0) -> DailyReport:
    day = BASE + timedelta(days=offset)
    return submit_report(
        report_id=f"{rep}-{offset}",
        rep_id=rep,
        report_date=day,
        content=validate_report_content(summary="done"),
        submitted_at=datetime.combine(day, time(hh, mm), tzinfo=SHANGHAI),
        tz=SHANGHAI,
        existing=None,
    )


def missing(rep: str, offset: int) -> DailyReport:
    return missing_report(
        report_id=f"{rep}-m{offset}", rep_id=rep, report_date=BASE + timedelta(days=offset), tz=SHANGHAI, now=LATER
    )


def falsify(report: DailyReport) -> DailyReport:
    return mark_falsified(report, manager_id="mgr", comment="not true", rep_in_scope=True, now=LATER)


def sample() -> list[DailyReport]:
    return [
        filed("alice", 0, 17),  # on time
        filed("alice", 1, 19),  # late
        missing("alice", 2),
        falsify(filed("alice", 3, 9)),  # on time but falsified
        falsify(filed("alice", 4, 21)),  # late and falsified
        filed("bob", 0, 12),
        filed("bob", 1, 18),  # exactly at the deadline: on time
    ]


def line_map(ledger) -> dict[Infraction, tuple[int, Money]]:
    return {line.infraction: (line.count, line.amount) for line in ledger.lines}


def cny(amount: str) -> Money:
    return Money(Decimal(amount), "CNY")


def test_infractions_per_report() -> None:
    reports = sample()
    assert [infractions(r) for r in reports[:5]] == [
        [],
        [Infraction.LATE],
        [Infraction.MISSING],
        [Infraction.FALSIFIED],
        [Infraction.LATE, Infraction.FALSIFIED],
    ]


def test_default_fines_are_10_30_50_cny() -> None:
    alice, bob = policy_ledger(sample())
    assert alice.rep_id == "alice"
    assert line_map(alice) == {
        Infraction.LATE: (2, cny("20")),
        Infraction.MISSING: (1, cny("30")),
        Infraction.FALSIFIED: (2, cny("100")),
    }
    assert alice.total == cny("150")
    assert bob.total == cny("0") and all(line.count == 0 for line in bob.lines)
    assert {line.unit_amount for line in alice.lines} == {cny("10"), cny("30"), cny("50")}


def test_amounts_and_currency_are_configurable() -> None:
    policy = ReportPolicy(
        late_fine=Decimal("2.50"), missing_fine=Decimal("7"), falsified_fine=Decimal("12.25"), currency="EUR"
    )
    alice, _ = policy_ledger(sample(), policy)
    assert alice.total == Money(Decimal("2.50") * 2 + Decimal("7") + Decimal("12.25") * 2, "EUR")
    assert alice.total.amount == Decimal("36.50")


def test_empty_ledger() -> None:
    assert policy_ledger([]) == []


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"late_fine": Decimal("-1")}, "late_fine"),
        ({"missing_fine": 30}, "missing_fine"),
        ({"falsified_fine": Decimal("NaN")}, "falsified_fine"),
        ({"currency": "yuan"}, "currency"),
        ({"report_weekdays": frozenset({7})}, "report_weekdays"),
        ({"report_weekdays": frozenset()}, "report_weekdays"),
        ({"deadline": time(18, 0, tzinfo=UTC)}, "deadline"),
    ],
)
def test_policy_rejects_bad_configuration(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        ReportPolicy(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_compliance_summary_per_rep_and_team() -> None:
    summary = compliance_summary(sample(), rep_ids=["carol"])
    alice = summary.per_rep["alice"]
    assert (alice.on_time, alice.late, alice.missing, alice.falsified, alice.compliant, alice.total) == (
        2,
        2,
        1,
        2,
        1,
        5,
    )
    assert alice.rate == Decimal("0.2000")
    bob = summary.per_rep["bob"]
    assert (bob.on_time, bob.late, bob.compliant, bob.total, bob.rate) == (2, 0, 2, 2, Decimal("1.0000"))
    carol = summary.per_rep["carol"]
    assert carol.total == 0 and carol.rate is None
    assert list(summary.per_rep) == ["alice", "bob", "carol"]
    team = summary.team
    assert (team.on_time, team.late, team.missing, team.falsified, team.total) == (4, 2, 1, 2, 7)
    assert team.rate == Decimal("0.4286")  # 3 of 7 compliant
