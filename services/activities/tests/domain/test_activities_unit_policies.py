"""Per-unit overrides: validation naming each bad field, and the nearest unit on the path winning
value by value over its ancestors and the company defaults."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest

from salesgrid_activities.domain.errors import ValidationFailed
from salesgrid_activities.domain.unit_policies import PolicyOverrides, effective_policies, validate_overrides


def test_validation_names_every_bad_field() -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_overrides(
            check_in_radius_m=0,
            report_deadline="6pm",
            late_fine="-1",
            missing_fine="1.005",
            falsified_fine="NaN",
            currency="RMB1",
        )
    assert [field for field, _ in info.value.violations] == [
        "check_in_radius_m",
        "report_deadline",
        "late_fine",
        "missing_fine",
        "falsified_fine",
        "currency",
    ]


def test_valid_overrides_parse() -> None:
    o = validate_overrides(check_in_radius_m=250, report_deadline="17:30", late_fine="12.50", currency="EUR")
    assert o == PolicyOverrides(
        check_in_radius_m=250.0, report_deadline=time(17, 30), late_fine=Decimal("12.50"), currency="EUR"
    )
    assert validate_overrides().empty


def test_nearest_unit_wins_value_by_value() -> None:
    overrides = [
        ("/c/t1/", PolicyOverrides(check_in_radius_m=100)),
        ("/c/", PolicyOverrides(check_in_radius_m=3000, late_fine=Decimal("20"))),
        ("/c/t2/", PolicyOverrides(late_fine=Decimal("99"))),  # a sibling: not on the path
    ]
    team = effective_policies("/c/t1/x/", overrides)
    assert team.check_in.radius_m == 100 and team.report.late_fine == Decimal("20")
    assert team.report.missing_fine == Decimal("30") and team.report.deadline == time(18, 0)
    elsewhere = effective_policies("/d/", overrides)
    assert elsewhere.check_in.radius_m == 500 and elsewhere.report.late_fine == Decimal("10")
