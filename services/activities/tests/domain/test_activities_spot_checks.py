"""Weekly spot checks: the week boundaries, a draw that is reproducible and fair, the nearest
sales administrator, and who may decide a finding."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from salesgrid_activities.domain import spot_checks
from salesgrid_activities.domain.errors import Conflict, PermissionDenied, ValidationFailed
from salesgrid_activities.domain.spot_checks import LedgerEntry, Verdict

IDS = [f"fu-{i:02d}" for i in range(12)]


def test_the_last_ended_week_runs_monday_to_sunday() -> None:
    assert spot_checks.last_ended_week(date(2026, 3, 9)) == date(2026, 3, 2)  # Monday: last week ended yesterday
    assert spot_checks.last_ended_week(date(2026, 3, 15)) == date(2026, 3, 2)  # Sunday: this week has not ended
    assert spot_checks.last_ended_week(date(2026, 3, 16)) == date(2026, 3, 9)
    assert spot_checks.week_key(date(2026, 3, 2)) == "2026-W10"
    assert spot_checks.week_key(date(2025, 12, 29)) == "2026-W01"  # ISO weeks cross the year


def test_the_draw_is_reproducible_whatever_the_order() -> None:
    once = spot_checks.draw(IDS, week="2026-W10", rep_id="rep-1", size=3)
    assert len(once) == 3 and set(once) <= set(IDS)
    assert spot_checks.draw(list(reversed(IDS)), week="2026-W10", rep_id="rep-1", size=3) == once
    others = {tuple(spot_checks.draw(IDS, week=f"2026-W{w:02d}", rep_id="rep-1", size=3)) for w in range(1, 20)}
    assert len(others) > 10  # another week, another sample
    reps = {tuple(spot_checks.draw(IDS, week="2026-W10", rep_id=f"rep-{r}", size=3)) for r in range(20)}
    assert len(reps) > 10  # seeded by the rep too: reps' samples of one week differ


def test_the_draw_takes_what_there_is() -> None:
    assert spot_checks.draw([], week="2026-W10", rep_id="rep-1") == []
    assert spot_checks.draw(["a", "b"], week="2026-W10", rep_id="rep-1", size=3) == ["a", "b"]
    assert spot_checks.draw(["a", "a", "b"], week="2026-W10", rep_id="rep-1", size=5) == ["a", "b"]
    assert spot_checks.draw(IDS, week="2026-W10", rep_id="rep-1", size=0) == []


def test_the_draw_is_fair_every_follow_up_equally_likely() -> None:
    """Over 3000 (week, rep) seeds, each of 12 follow-ups is drawn about 3/12 of the time."""
    counts: Counter[str] = Counter()
    rounds = 3000
    for n in range(rounds):
        counts.update(spot_checks.draw(IDS, week=f"W{n}", rep_id=f"rep-{n % 7}", size=3))
    expected = rounds * 3 / len(IDS)
    assert all(abs(counts[i] - expected) < expected * 0.12 for i in IDS), counts


ADMINS = [("adm-hq", "/c/"), ("adm-b1a", "/c/r1/b1/"), ("adm-b1b", "/c/r1/b1/"), ("adm-b2", "/c/r1/b2/")]


def test_the_nearest_administrator_checks_and_several_share_the_reps() -> None:
    chosen = {spot_checks.choose_verifier(f"rep-{i}", "/c/r1/b1/t1/", "2026-W10", ADMINS) for i in range(40)}
    assert chosen == {"adm-b1a", "adm-b1b"}  # never the HQ one while the branch has its own
    assert spot_checks.choose_verifier("rep-9", "/c/r2/b7/", "2026-W10", ADMINS) == "adm-hq"
    assert spot_checks.choose_verifier("rep-9", "/c/r1/b10/", "2026-W10", ADMINS) == "adm-hq"  # b10 is not b1
    assert spot_checks.choose_verifier("rep-1", "/x/", "2026-W10", ADMINS) is None
    assert spot_checks.choose_verifier("adm-b2", "/c/r1/b2/", "2026-W10", ADMINS) == "adm-hq"  # not himself
    assert spot_checks.choose_verifier("rep-1", "/c/r1/b1/t1/", "2026-W10", ADMINS) == spot_checks.choose_verifier(
        "rep-1", "/c/r1/b1/t1/", "2026-W10", list(reversed(ADMINS))
    )


def test_only_the_assignee_decides_once_and_false_needs_a_reason() -> None:
    found = spot_checks.record_verdict(
        current=Verdict.PENDING, assignee_id="adm", verifier_id="adm", verdict="false", note=" 客户说没有见过他 "
    )
    assert found == spot_checks.Finding(Verdict.FALSE, "客户说没有见过他")
    assert (
        spot_checks.record_verdict(
            current=Verdict.PENDING, assignee_id="adm", verifier_id="adm", verdict="true", note=""
        ).verdict
        is Verdict.TRUE
    )
    with pytest.raises(ValidationFailed) as caught:
        spot_checks.record_verdict(
            current=Verdict.PENDING, assignee_id="adm", verifier_id="adm", verdict="false", note=" "
        )
    assert caught.value.field == "note"
    with pytest.raises(ValidationFailed):
        spot_checks.record_verdict(
            current=Verdict.PENDING, assignee_id="adm", verifier_id="adm", verdict="maybe", note=""
        )
    with pytest.raises(PermissionDenied):
        spot_checks.record_verdict(
            current=Verdict.PENDING, assignee_id="adm", verifier_id="mgr", verdict="true", note=""
        )
    with pytest.raises(Conflict):
        spot_checks.record_verdict(
            current=Verdict.TRUE, assignee_id="adm", verifier_id="adm", verdict="false", note="changed my mind"
        )


def test_ledger_totals_per_rep_and_currency() -> None:
    at = datetime(2026, 3, 9, tzinfo=UTC)
    entries = [
        LedgerEntry("rep-1", "follow_up", "f1", at, "50.00", "CNY"),
        LedgerEntry("rep-1", "daily_report", "d1", at, "50", "CNY"),
        LedgerEntry("rep-2", "follow_up", "f2", at, "80.00", "CNY"),
    ]
    assert spot_checks.ledger_totals(entries) == [
        ("rep-1", 2, Decimal("100.00"), "CNY"),
        ("rep-2", 1, Decimal("80.00"), "CNY"),
    ]
