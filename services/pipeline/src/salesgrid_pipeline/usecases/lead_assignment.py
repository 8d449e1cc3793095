"""Lead assignment: the rule table (first match wins) and round robin within a team."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.scopes import Scope
from salesgrid_common.directory import DirectoryUser, get_user
from salesgrid_common.errors import FailedPrecondition, PermissionDenied, ValidationFailed
from salesgrid_pipeline.domain import lead_assignment as assignment_rules
from salesgrid_pipeline.domain import leads as lead_rules
from salesgrid_pipeline.stores import lead_assignment as assignment_store

from salesgrid_pipeline.usecases._support import (
    LEAD_ASSIGN,
    PipelineUseCasesBase,
)


class LeadAssignmentMixin(PipelineUseCasesBase):
    """PipelineUseCases: the lead assignment rules."""

    async def _assign_by_rule(self, session: AsyncSession, lead: lead_rules.Lead) -> DirectoryUser | None:
        """The rep the rule table gives this lead (None: no rule matches, it stays in the pool).
        Round robin reads and advances the team's position in the lead's transaction, locked on
        PostgreSQL, so replicas hand out leads in one shared order."""
        rules = await assignment_store.rules(session)
        rule = assignment_rules.match_rule(rules, lead.region, lead.industry)
        if rule is None:
            return None
        teams: dict[str, list[str]] = {}
        last: dict[str, str] = {}
        if rule.team_id:
            last_assignee = await assignment_store.last_assignee(session, rule.team_id)
            teams[rule.team_id] = await assignment_store.team_reps(session, rule.team_id)
            if last_assignee is not None:
                last[rule.team_id] = last_assignee
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
            await assignment_store.advance(session, chosen.team_id, chosen.rep_id, first=chosen.team_id not in last)
        return user

    @staticmethod
    def _require_rule_admin(principal: Principal) -> None:
        if principal.require(LEAD_ASSIGN) < Scope.SUBTREE:
            raise PermissionDenied(f"{LEAD_ASSIGN} at scope subtree or all is needed to manage assignment rules")

    async def get_assignment_rules(self, principal: Principal) -> list[assignment_rules.AssignmentRule]:
        self._require_rule_admin(principal)
        async with self.sessions() as session:
            return await assignment_store.rules(session)

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
                    path = await assignment_store.active_unit_path(session, rule.team_id)
                    if path is None:
                        problems.append((f"rules[{i}].team_id", "is not a known org unit"))
                    elif not principal.can_see(LEAD_ASSIGN, "", path):
                        problems.append((f"rules[{i}].team_id", "is outside your scope"))
            if problems:
                raise ValidationFailed.many(problems)
            await assignment_store.replace_rules(session, rules)
        return rules
