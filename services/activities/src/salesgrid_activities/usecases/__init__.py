"""Activities' use cases: each runs in one transaction, applies the domain rules, writes its
events to the outbox in that same transaction, and checks the caller's permission and scope."""

from __future__ import annotations

from salesgrid_activities.usecases.unit_policies import UnitPoliciesMixin
from salesgrid_activities.usecases.follow_ups import FollowUpsMixin
from salesgrid_activities.usecases.check_ins import CheckInsMixin
from salesgrid_activities.usecases.tasks import TasksMixin
from salesgrid_activities.usecases.calendar import CalendarMixin, MAX_CALENDAR_WINDOW
from salesgrid_activities.usecases.daily_reports import DailyReportsMixin, REPORTING_ROLES, log
from salesgrid_activities.usecases._support import SYSTEM_ACTOR, parse_date
from salesgrid_activities.usecases.inbox import InboxUseCases, deliver


class ActivitiesUseCases(
    UnitPoliciesMixin, FollowUpsMixin, CheckInsMixin, TasksMixin, CalendarMixin, DailyReportsMixin
):
    """Every use case of the service: one mixin per topic, the shared helpers in _support."""


__all__ = [
    "MAX_CALENDAR_WINDOW",
    "REPORTING_ROLES",
    "SYSTEM_ACTOR",
    "log",
    "parse_date",
    "ActivitiesUseCases",
    "InboxUseCases",
    "deliver",
]
