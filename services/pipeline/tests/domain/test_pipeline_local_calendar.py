"""SLA days, lead reclaim and the expected close date on the owner's branch calendar: N days are N
local days at the same wall time, also across a DST change (property over zones and instants)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesgrid_pipeline.domain import sla
from salesgrid_pipeline.domain.errors import ValidationFailed
from salesgrid_pipeline.domain.leads import assign, is_reclaim_due, new_lead, reclaim_due_at
from salesgrid_pipeline.domain.money import Money
from salesgrid_common.zones import latest_local_date
from salesgrid_pipeline.domain.opportunities import (
    OpportunityInput,
    close_date_valid_everywhere,
    validate_opportunity,
)

ZONES = ["Pacific/Kiritimati", "Etc/GMT+12", "America/New_York", "Europe/Berlin", "Asia/Shanghai"]
INSTANTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))


@settings(max_examples=200, deadline=None)
@given(entered=INSTANTS, zone=st.sampled_from(ZONES), days=st.integers(1, 60))
def test_sla_is_due_after_n_local_days_at_the_same_wall_time(entered: datetime, zone: str, days: int) -> None:
    status = sla.sla_status(entered, days, entered, zone)
    local_in, local_due = entered.astimezone(ZoneInfo(zone)), status.due_at.astimezone(ZoneInfo(zone))
    if local_due.time() == local_in.time():  # (a wall time inside a DST gap moves past it)
        assert local_due.date() == local_in.date() + timedelta(days=days)
    assert sla.sla_status(entered, days, status.due_at, zone).level is sla.SlaLevel.ON_TIME
    assert sla.sla_status(entered, days, status.due_at + timedelta(seconds=1), zone).level is sla.SlaLevel.OVERDUE


def test_sla_across_new_yorks_spring_forward_is_one_hour_shorter() -> None:
    entered = datetime(2026, 3, 1, 15, 0, tzinfo=UTC)  # 10:00 EST
    status = sla.sla_status(entered, 14, entered, "America/New_York")
    assert status.due_at == datetime(2026, 3, 15, 14, 0, tzinfo=UTC)  # 10:00 EDT
    assert sla.sla_status(entered, 14, entered).due_at == entered + timedelta(days=14)  # UTC by default


def test_lead_reclaim_counts_days_on_the_owners_calendar() -> None:
    at = datetime(2026, 10, 20, 8, 0, tzinfo=UTC)  # 10:00 in Berlin (CEST)
    lead = assign(new_lead("lead-1", "Werk GmbH", at), "rep-1", at)
    due = reclaim_due_at(lead, 14, "Europe/Berlin")
    assert due == datetime(2026, 11, 3, 9, 0, tzinfo=UTC)  # 10:00 CET, after the autumn change
    assert not is_reclaim_due(lead, due - timedelta(seconds=1), 14, "Europe/Berlin")
    assert is_reclaim_due(lead, due, 14, "Europe/Berlin")


def test_the_close_date_age_limit_counts_from_the_owners_today() -> None:
    now = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # already 3 March in Shanghai
    data = OpportunityInput("cust-1", "Line", Money(Decimal("10"), "CNY"), date(2025, 3, 2))
    validate_opportunity(data, (), now, max_close_date_age_days=365)  # UTC: exactly 365 days ago
    with pytest.raises(ValidationFailed) as too_old:
        validate_opportunity(data, (), now, max_close_date_age_days=365, today=date(2026, 3, 3))
    assert too_old.value.violations[0][0] == "expected_close_date"


@settings(max_examples=300, deadline=None)
@given(now=INSTANTS, zone=st.sampled_from(ZONES), age=st.integers(360, 370))
def test_a_close_date_valid_everywhere_is_valid_in_every_owners_zone(now: datetime, zone: str, age: int) -> None:
    """The create skips the owner's calendar for such a date; any other reads it (service test)."""
    close = now.date() - timedelta(days=age)
    data = OpportunityInput("cust-1", "Line", Money(Decimal("10"), "CNY"), close)
    local_today = now.astimezone(ZoneInfo(zone)).date()
    if close_date_valid_everywhere(close, latest_local_date(now)):
        validate_opportunity(data, (), now, today=local_today)
    assert close_date_valid_everywhere(close, local_today) == (close >= local_today - timedelta(days=365))
