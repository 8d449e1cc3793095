"""Lead assignment: the rule table (first match wins) and round robin within a team."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth import Principal, Scope
from salesgrid_common.directory import DirectoryUser, directory_units, directory_users, get_user
from salesgrid_common.errors import FailedPrecondition, PermissionDenied, ValidationFailed
from salesgrid_pipeline.domain import lead_assignment as assignment_rules
from salesgrid_pipeline.domain import leads as lead_rules
from salesgrid_pipeline.models import LeadAssignmentRule, RoundRobinState

from salesgrid_pipeline.usecases._support import (
    LEAD_ASSIGN,
    PipelineUseCasesBase,
)


class LeadAssignmentMixin(PipelineUseCasesBase):
    """PipelineUseCases: the lead assignment rules."""

    @staticmethod
    async def _rules(session: AsyncSession) -> list[assignment_rules.AssignmentRule]:
        rows = (await session.scalars(select(LeadAssignmentRule).order_by(LeadAssignmentRule.position))).all()
        return [
            assignment_rules.AssignmentRule(r.region, r.industry, r.rep_id or None, r.team_id or None) for r in rows
        ]

    @staticmethod
    async def _team_reps(session: AsyncSession, team_id: str) -> list[str]:
        """The team's active reps from the directory replica, in a stable order every replica shares."""
        rows = (
            await session.execute(
                select(directory_users.c.user_id, directory_users.c.roles)
                .where(directory_users.c.unit_id == team_id, directory_users.c.active.is_(True))
                .order_by(directory_users.c.user_id)
            )
        ).all()
        return [r.user_id for r in rows if "rep" in r.roles.split(",")]

    async def _assign_by_rule(self, session: AsyncSession, lead: lead_rules.Lead) -> DirectoryUser | None:
        """The rep the rule table gives this lead (None: no rule matches, it stays in the pool).
        Round robin reads and advances the team's state row in the lead's transaction, locked on
        PostgreSQL, so replicas hand out leads in one shared order."""
        rules = await self._rules(session)
        rule = assignment_rules.match_rule(rules, lead.region, lead.industry)
        if rule is None:
            return None
        teams: dict[str, list[str]] = {}
        last: dict[str, str] = {}
        state: RoundRobinState | None = None
        if rule.team_id:
            state = await session.scalar(
                select(RoundRobinState).where(RoundRobinState.team_id == rule.team_id).with_for_update()
            )
            teams[rule.team_id] = await self._team_reps(session, rule.team_id)
            if state is not None:
                last[rule.team_id] = state.last_assignee
        try:
            chosen = assignment_rules.choose_assignee(lead, rules, teams, last)
        except FailedPrecondition:  # a team without active reps: the lead waits in the pool
            return None
        if chosen is None:
            return None
        user = await get_user(session, chosen.rep_id)
        if user is None or not user.active:  # a rule naming a departed rep: the lead waits in the pool
            return None
        if chosen.team_id is not None:
            if state is None:
                session.add(RoundRobinState(team_id=chosen.team_id, last_assignee=chosen.rep_id))
            else:
                state.last_assignee = chosen.rep_id
        return user

    @staticmethod
    def _require_rule_admin(principal: Principal) -> None:
        if principal.require(LEAD_ASSIGN) < Scope.SUBTREE:
            raise PermissionDenied(f"{LEAD_ASSIGN} at scope subtree or all is needed to manage assignment rules")

    async def get_assignment_rules(self, principal: Principal) -> list[assignment_rules.AssignmentRule]:
        self._require_rule_admin(principal)
        async with self.sessions() as session:
            return await self._rules(session)

    async def put_assignment_rules(
        self, principal: Principal, rules: Sequence[assignment_rules.AssignmentRule]
    ) -> list[assignment_rules.AssignmentRule]:
        """Replace the rule table; every target must be an active rep / a known team in the caller's scope."""
        self._require_rule_admin(principal)
        rules = [
            assignment_rules.AssignmentRule(
                r.region.strip(),
                r.industry.strip(),
                (r.rep_id or "").strip() or None,
                (r.team_id or "").strip() or None,
            )
            for r in rules
        ]
        assignment_rules.validate_rules(rules)
        async with self.sessions() as session, session.begin():
            problems: list[tuple[str, str]] = []
            for i, rule in enumerate(rules):
                if rule.rep_id is not None:
                    user = await get_user(session, rule.rep_id)
                    if user is None or not user.active:
                        problems.append((f"rules[{i}].rep_id", "is not a known active user"))
                    elif not principal.can_see(LEAD_ASSIGN, user.user_id, user.org_path):
                        problems.append((f"rules[{i}].rep_id", "is outside your scope"))
                else:
                    path = await session.scalar(
                        select(directory_units.c.path).where(
                            directory_units.c.unit_id == rule.team_id, directory_units.c.active.is_(True)
                        )
                    )
                    if path is None:
                        problems.append((f"rules[{i}].team_id", "is not a known org unit"))
                    elif not principal.can_see(LEAD_ASSIGN, "", path):
                        problems.append((f"rules[{i}].team_id", "is outside your scope"))
            if problems:
                raise ValidationFailed.many(problems)
            for old in (await session.scalars(select(LeadAssignmentRule))).all():
                await session.delete(old)
            await session.flush()
            session.add_all(
                [
                    LeadAssignmentRule(
                        position=i, region=r.region, industry=r.industry, rep_id=r.rep_id or "", team_id=r.team_id or ""
                    )
                    for i, r in enumerate(rules)
                ]
            )
        return rules
