"""Helpers shared by the use-case modules of this package."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common import localtime
from salesgrid_common.actors import system_actor
from salesgrid_common.errors import FailedPrecondition, ValidationFailed
from salesgrid_common.events.outbox import Outbox
from salesgrid_activities.domain import check_ins, daily_reports, unit_policies
from salesgrid_activities.stores import unit_policies as unit_policy_store


SYSTEM_ACTOR = system_actor("activities")  # the actor of the service's own scheduler runs


def parse_date(value: str, field: str) -> date | None:
    """An optional ISO date (YYYY-MM-DD) from the wire; empty means none."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("must be a date YYYY-MM-DD", field) from None


def _zone(name: str) -> ZoneInfo:
    try:
        return localtime.zone(name)
    except ValidationFailed:
        raise FailedPrecondition(f"time zone {name!r} is not known", "time_zone") from None


class ActivitiesUseCasesBase:
    """What every part of ActivitiesUseCases shares: its wiring and the helpers more than one topic uses."""

    def __init__(
        self,
        sessions: SessionFactory,
        outbox: Outbox,
        clock: Clock,
        check_in_policy: check_ins.CheckInPolicy = check_ins.CheckInPolicy(),
        report_policy: daily_reports.ReportPolicy = daily_reports.ReportPolicy(),
    ) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.clock = clock
        # Company-wide defaults; units override them (unit_policies).
        self.check_in_policy = check_in_policy
        self.report_policy = report_policy

    async def _emit(
        self,
        session: AsyncSession,
        verb: str,
        payload: Message,
        *,
        aggregate_id: str,
        org_path: str,
        principal: Principal | None,
        now: datetime,
    ) -> None:
        await self.outbox.record_by(
            session, verb, payload, principal, aggregate_id=aggregate_id, org_path=org_path, occurred_at=now
        )

    @staticmethod
    async def _my_zone(session: AsyncSession, principal: Principal) -> ZoneInfo | None:
        # his unit's zone (his branch's calendar), else the zone copied onto him; an unknown one refuses
        name = await localtime.user_zone_name(session, principal.subject_id)
        return None if name is None else _zone(name)

    async def _policies(self, session: AsyncSession, org_path: str) -> unit_policies.Policies:
        """The policies in force at org_path: defaults overridden by the units on the path."""
        return unit_policies.effective_policies(
            org_path, await unit_policy_store.overrides_by_path(session), self.check_in_policy, self.report_policy
        )
