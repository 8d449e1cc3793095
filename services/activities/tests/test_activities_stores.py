"""The follow-up, task, visit, daily-report, unit-policy, inbox and spot-check stores' mappers cover every column both ways, and their events are built
from the domain objects."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from salesgrid_activities.domain.follow_ups import FollowUp, FollowUpKind
from salesgrid_activities.follow_up_events import follow_up_logged
import pytest

from salesgrid_activities.daily_report_events import report_state
from salesgrid_activities.domain.daily_reports import DailyReport, ReportContent, ReportStatus
from salesgrid_activities.domain.check_ins import FlagReason, GeoPoint, LocationAssessment, LocationFix, Visit
from salesgrid_activities.domain.tasks import Task, TaskStatus
from salesgrid_activities.domain.unit_policies import PolicyOverrides, UnitPolicy
from salesgrid_activities.domain.inbox import InboxItem
from salesgrid_activities.domain.spot_checks import SpotCheck, Verdict
from salesgrid_activities.models import (
    DailyReportRow,
    FollowUpRow,
    InboxItemRow,
    SpotCheckRow,
    TaskRow,
    UnitPolicyRow,
    VisitRow,
)
from salesgrid_activities.stores.inbox import item_from_row, item_to_row
from salesgrid_activities.stores.spot_checks import spot_check_from_row, spot_check_to_row
from salesgrid_activities.stores.unit_policies import unit_policy_from_row, unit_policy_to_row
from salesgrid_activities.stores.daily_reports import report_from_row, report_to_row
from salesgrid_activities.stores.visits import visit_from_row, visit_to_row
from salesgrid_activities.visit_events import check_out_reading
from salesgrid_activities.stores.tasks import task_from_row, task_to_row
from salesgrid_activities.task_events import task_state
from salesgrid_activities.stores.follow_ups import follow_up_from_row, follow_up_to_row

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def logged() -> FollowUp:
    checked = FollowUp(
        kind=FollowUpKind.VISIT,
        occurred_at=NOW,
        notes="demo at the plant",
        customer_id="c-1",
        contact_id="k-1",
        opportunity_id="o-1",
        lead_id="l-1",
        next_follow_up_on=date(2026, 3, 9),
    )
    return checked.logged(id="f-1", owner_id="rep-a", org_path="/c/sz/", now=NOW)


def test_the_mapper_writes_every_column_and_reads_back_every_field() -> None:
    follow_up = logged()
    values = follow_up_to_row(follow_up)
    assert set(values) == set(FollowUpRow.__table__.columns.keys())  # a new column must be mapped
    assert follow_up_from_row(FollowUpRow(**values)) == follow_up
    assert (follow_up.created_at, follow_up.version) == (NOW, 1)


def test_the_logged_event_is_built_from_the_domain_follow_up() -> None:
    event = follow_up_logged(logged())
    assert (event.follow_up_id, event.owner_id, event.org_path, event.kind) == ("f-1", "rep-a", "/c/sz/", "visit")
    assert (event.customer_id, event.contact_id, event.opportunity_id, event.lead_id) == ("c-1", "k-1", "o-1", "l-1")
    assert (event.next_follow_up_on, event.occurred_at.ToDatetime(UTC)) == ("2026-03-09", NOW)


def test_the_task_mapper_writes_every_column_and_reads_back_every_field() -> None:
    task = Task(
        task_id="t-1",
        creator_id="mgr",
        assignee_id="rep-a",
        title="Quote for Acme",
        description="with the discount",
        start_at=NOW,
        end_at=NOW,
        due_at=NOW,
        reminder_minutes=(60, 15),
        private=True,
        status=TaskStatus.REJECTED,
        created_at=NOW,
        accepted_at=NOW,
        rejected_at=NOW,
        reject_reason="on leave",
        completed_at=NOW,
        org_path="/c/sz/",
        version=3,
    )
    values = task_to_row(task)
    assert set(values) == set(TaskRow.__table__.columns.keys())
    assert task_from_row(TaskRow(**values)) == task
    state = task_state(task)
    assert (state.task_id, state.assignee_id, state.org_path, state.status, state.reject_reason) == (
        "t-1",
        "rep-a",
        "/c/sz/",
        "rejected",
        "on leave",
    )


def test_the_visit_mapper_writes_every_column_and_reads_back_every_field() -> None:
    check_in = LocationFix(GeoPoint(22.54, 113.95), 12.0, NOW, "photo-in")
    check_out = LocationFix(GeoPoint(22.55, 113.96), 8.0, NOW + timedelta(hours=1), None)
    visit = Visit(
        visit_id="v-1",
        rep_id="rep-a",
        customer_id="c-1",
        check_in=check_in,
        check_in_received_at=NOW,
        check_in_assessment=LocationAssessment(120.5, (FlagReason.TOO_FAR,)),
        check_out=check_out,
        check_out_received_at=NOW + timedelta(hours=1),
        check_out_assessment=LocationAssessment(None, ()),
        org_path="/c/sz/",
        version=2,
    )
    values = visit_to_row(visit)
    assert set(values) == set(VisitRow.__table__.columns.keys())
    assert (values["open"], values["flagged"]) == (False, True)
    assert visit_from_row(VisitRow(**values)) == visit
    reading = check_out_reading(visit)
    assert (reading.visit_id, reading.org_path, reading.duration_seconds, reading.has_distance) == (
        "v-1",
        "/c/sz/",
        3600,
        False,
    )


@pytest.mark.parametrize("content", [ReportContent("visited two plants", ("v-1", "v-2"), "quote", "none"), None])
def test_the_daily_report_mapper_writes_every_column_and_reads_back_every_field(content: ReportContent | None) -> None:
    report = DailyReport(
        report_id="r-1",
        rep_id="rep-a",
        report_date=date(2026, 3, 2),
        time_zone="Asia/Shanghai",
        status=ReportStatus.LATE if content else ReportStatus.MISSING,
        content=content,
        submitted_at=NOW if content else None,
        recorded_at=NOW,
        falsified=True,
        falsified_by="mgr",
        falsified_comment="no such visit",
        falsified_at=NOW,
        org_path="/c/sz/",
        version=2,
    )
    values = report_to_row(report)
    assert set(values) == set(DailyReportRow.__table__.columns.keys())
    assert report_from_row(DailyReportRow(**values)) == report
    state = report_state(report)
    assert (state.report_id, state.org_path, state.report_date, state.falsified_by) == (
        "r-1",
        "/c/sz/",
        "2026-03-02",
        "mgr",
    )


def test_the_unit_policy_mapper_writes_every_column_and_reads_back_every_field() -> None:
    overrides = PolicyOverrides(250.0, time(19, 30), Decimal("5"), Decimal("20"), Decimal("40"), "CNY")
    policy = UnitPolicy("u-sz", overrides, "admin", NOW, 4)
    values = unit_policy_to_row(policy)
    assert set(values) == set(UnitPolicyRow.__table__.columns.keys())
    assert values["report_deadline"] == "19:30"
    assert unit_policy_from_row(UnitPolicyRow(**values)) == policy


def test_the_inbox_item_mapper_writes_every_column_and_reads_back_every_field() -> None:
    item = InboxItem(
        id="i-1",
        owner_id="rep-a",
        org_path="/c/sz/",
        kind="task_overdue",
        title="Task Call back is overdue",
        params={"task": "Call back"},
        record_type="task",
        record_id="t-1",
        subject_owner_id="rep-a",
        event_id="e-1",
        occurred_at=NOW,
        read_at=NOW + timedelta(minutes=5),
    )
    values = item_to_row(item)
    assert set(values) == set(InboxItemRow.__table__.columns.keys())  # a new column must be mapped
    assert item_from_row(InboxItemRow(**values)) == item


@pytest.mark.parametrize("fine", [None, Decimal("50.00")])
def test_the_spot_check_mapper_writes_every_column_and_reads_back_every_field(fine: Decimal | None) -> None:
    check = SpotCheck(
        id="s-1",
        follow_up_id="f-1",
        week="2026-W09",
        owner_id="rep-a",
        org_path="/c/sz/",
        verifier_id="adm-1",
        verdict=Verdict.FALSE if fine else Verdict.PENDING,
        assigned_at=NOW,
        note="no such visit" if fine else "",
        fine=fine,
        currency="CNY" if fine else "",
        verified_at=NOW + timedelta(days=1) if fine else None,
        version=2 if fine else 1,
    )
    values = spot_check_to_row(check)
    assert set(values) == set(SpotCheckRow.__table__.columns.keys())  # a new column must be mapped
    assert values["currency"] == ("CNY" if fine else None)  # stored as NULL until a fine is set
    assert spot_check_from_row(SpotCheckRow(**values)) == check
