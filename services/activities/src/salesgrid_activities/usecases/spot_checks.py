"""Spot checks use cases (domain/spot_checks.py): the weekly draw (a background job), the sales
administrators' findings, and the falsification ledger (虚报) managers read within their scope."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.activities_events_pb2 import ActivitiesSpotCheck
from salesgrid_common import localtime
from salesgrid_common.auth.principal import Principal
from salesgrid_common.directory_tables import directory_units, directory_users
from salesgrid_common.errors import NotFound, ValidationFailed
from salesgrid_common.ids import new_id
from salesgrid_common.paging import Page
from salesgrid_activities.domain import spot_checks
from salesgrid_activities.domain.daily_reports import Infraction
from salesgrid_activities.stores import daily_reports as report_store
from salesgrid_activities.stores import follow_ups as follow_up_store
from salesgrid_activities.stores import spot_checks as spot_check_store
from salesgrid_activities.usecases._support import ActivitiesUseCasesBase, parse_date

log = logging.getLogger(__name__)
VERIFY = "spot_checks:verify"
SAMPLED_ROLES = frozenset({"rep"})  # whose follow-ups are checked
VERIFIER_ROLE = "sales_admin"  # 销售管理专员
CENT = Decimal("0.01")


class SpotChecksUseCases(ActivitiesUseCasesBase):
    sample_size = spot_checks.DEFAULT_SAMPLE_SIZE

    async def _emit_check(
        self,
        session: AsyncSession,
        verb: str,
        check: spot_checks.SpotCheck,
        principal: Principal | None,
        now: datetime,
        manager_id: str = "",
    ) -> None:
        await self._emit(
            session,
            f"spot_check.{verb}",
            ActivitiesSpotCheck(
                spot_check_id=check.id,
                follow_up_id=check.follow_up_id,
                week=check.week,
                owner_id=check.owner_id,
                org_path=check.org_path,
                verifier_id=check.verifier_id,
                verdict=check.verdict.value,
                note=check.note,
                fine="" if check.fine is None else str(check.fine),
                currency=check.currency,
                manager_id=manager_id,
            ),
            aggregate_id=check.id,
            org_path=check.org_path,
            principal=principal,
            now=now,
        )

    async def draw_spot_checks(self) -> int:
        """For every rep whose latest ended week (in his branch calendar) has not been drawn yet:
        draw the sample and assign it. A rep with no administrator over him waits for one.
        Returns how many follow-ups were assigned."""
        now = self.clock()
        async with self.sessions() as session:
            people = (
                await session.execute(
                    select(directory_users, directory_units.c.time_zone.label("unit_zone"))
                    .outerjoin(directory_units, directory_units.c.unit_id == directory_users.c.unit_id)
                    .where(directory_users.c.active.is_(True))
                )
            ).all()
        admins = [(p.user_id, p.org_path) for p in people if VERIFIER_ROLE in p.roles.split(",")]
        assigned = 0
        for rep in people:
            if not SAMPLED_ROLES.intersection(rep.roles.split(",")):
                continue
            try:
                calendar = localtime.calendar_for(rep.unit_zone or rep.time_zone)
            except ValidationFailed:
                log.warning("spot checks: unknown time zone for %s", rep.user_id)
                continue
            monday = spot_checks.last_ended_week(calendar.today(now))
            week = spot_checks.week_key(monday)
            verifier = spot_checks.choose_verifier(rep.user_id, rep.org_path, week, admins)
            if verifier is None:
                continue
            try:
                assigned += await self._draw_week(
                    rep.user_id,
                    rep.org_path,
                    week,
                    verifier,
                    calendar.day_bounds(monday)[0],
                    calendar.day_bounds(monday + timedelta(days=6))[1],
                    now,
                )
            except IntegrityError:  # another replica drew this week first (the round's key is unique)
                continue
        return assigned

    async def _draw_week(
        self, rep_id: str, rep_path: str, week: str, verifier: str, start: datetime, end: datetime, now: datetime
    ) -> int:
        async with self.sessions() as session, session.begin():
            if await spot_check_store.round_drawn(session, rep_id, week):
                return 0
            ids = await follow_up_store.ids_between(session, rep_id, start, end)
            chosen = spot_checks.draw(ids, week=week, rep_id=rep_id, size=self.sample_size)
            spot_check_store.add_round(
                session,
                rep_id=rep_id,
                week=week,
                verifier_id=verifier,
                sampled=len(chosen),
                population=len(ids),
                now=now,
            )
            for follow_up_id in chosen:
                check = spot_checks.SpotCheck(
                    id=new_id(),
                    follow_up_id=follow_up_id,
                    week=week,
                    owner_id=rep_id,
                    org_path=rep_path,
                    verifier_id=verifier,
                    verdict=spot_checks.Verdict.PENDING,
                    assigned_at=now,
                )
                spot_check_store.insert(session, check)
                await self._emit_check(session, "assigned", check, None, now)
            return len(chosen)

    async def list(
        self,
        principal: Principal,
        *,
        assigned_to_me: bool,
        verdict: str,
        week: str,
        rep_id: str,
        page_size: int,
        page_token: str,
    ) -> Page[spot_checks.SpotCheck]:
        if verdict and verdict not in tuple(spot_checks.Verdict):
            raise ValidationFailed("must be pending, true or false", "verdict")
        async with self.sessions() as session:
            return await spot_check_store.page(
                session,
                principal,
                assigned_to_me=assigned_to_me,
                verdict=verdict,
                week=week,
                rep_id=rep_id,
                page_size=page_size,
                page_token=page_token,
            )

    async def verify(
        self, principal: Principal, spot_check_id: str, verdict: str, note: str, expected_version: int = 0
    ) -> spot_checks.SpotCheck:
        principal.require(VERIFY)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            check = await spot_check_store.load_for_update(session, spot_check_id)
            if (
                check is None
                or not principal.can_see(VERIFY, check.owner_id, check.org_path)
                and check.verifier_id != principal.subject_id
            ):
                raise NotFound(f"spot check {spot_check_id!r} not found", "id")
            spot_check_store.require_version(check, expected_version)
            finding = spot_checks.record_verdict(
                current=check.verdict,
                assignee_id=check.verifier_id,
                verifier_id=principal.subject_id,
                verdict=verdict,
                note=note,
            )
            check = replace(check, verdict=finding.verdict, note=finding.note, verified_at=now)
            manager_id = ""
            if finding.verdict is spot_checks.Verdict.FALSE:
                # the fine in force for the rep's unit now (unit_policies' falsified fine, 虚报)
                fine = (await self._policies(session, check.org_path)).report.fine(Infraction.FALSIFIED)
                check = replace(check, fine=fine.amount.quantize(CENT), currency=fine.currency)
                manager_id = (
                    await session.scalar(
                        select(directory_users.c.manager_id).where(directory_users.c.user_id == check.owner_id)
                    )
                    or ""
                )
            check = await spot_check_store.save(session, check)
            await self._emit_check(session, "verified", check, principal, now, manager_id)
            return check

    async def ledger(
        self, principal: Principal, *, from_date: str, to_date: str, rep_id: str
    ) -> list[spot_checks.LedgerEntry]:
        """Falsifications of reps within the caller's activities:read (follow-ups) and
        daily_reports:read (reports) scope, oldest first."""
        principal.require("activities:read")
        start, end = parse_date(from_date, "from_date"), parse_date(to_date, "to_date")
        if start and end and end < start:
            raise ValidationFailed("must not be before from_date", "to_date")
        lower = localtime.day_bounds(start, "UTC")[0] if start else None
        upper = localtime.day_bounds(end, "UTC")[1] if end else None
        entries: list[spot_checks.LedgerEntry] = []
        async with self.sessions() as session:
            for c in await spot_check_store.falsified(session, principal, rep_id, lower, upper):
                entries.append(
                    spot_checks.LedgerEntry(
                        c.owner_id, "follow_up", c.follow_up_id, c.verified_at, str(c.fine), c.currency or ""
                    )
                )
            for r in await report_store.falsified(session, principal, rep_id, lower, upper):
                fine = (await self._policies(session, r.org_path)).report.fine(Infraction.FALSIFIED)
                entries.append(
                    spot_checks.LedgerEntry(
                        r.rep_id,
                        "daily_report",
                        r.report_id,
                        r.falsified_at,
                        str(fine.amount.quantize(CENT)),
                        fine.currency,
                    )
                )
        return sorted(entries, key=lambda e: (e.found_at, e.record_id))
