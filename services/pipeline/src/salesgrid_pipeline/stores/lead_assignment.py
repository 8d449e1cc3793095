"""The lead assignment store: the rule table (`lead_assignment_rules`, in match order) <-> the
domain's AssignmentRule, each team's round-robin position (`lead_round_robin`), and the
directory replica's answers the rules are checked and applied against."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.directory_tables import directory_units, directory_users
from salesgrid_pipeline.domain.lead_assignment import AssignmentRule
from salesgrid_pipeline.models import LeadAssignmentRule as RuleRow
from salesgrid_pipeline.models import RoundRobinState


def from_row(row: RuleRow) -> AssignmentRule:
    return AssignmentRule(row.region, row.industry, row.rep_id or None, row.team_id or None)


def to_row(position: int, rule: AssignmentRule) -> RuleRow:
    return RuleRow(
        position=position,
        region=rule.region,
        industry=rule.industry,
        rep_id=rule.rep_id or "",
        team_id=rule.team_id or "",
    )


async def rules(session: AsyncSession) -> list[AssignmentRule]:
    """The rule table in match order (first match wins)."""
    return [from_row(row) for row in await session.scalars(select(RuleRow).order_by(RuleRow.position))]


async def replace_rules(session: AsyncSession, new_rules: Sequence[AssignmentRule]) -> None:
    """The rule table becomes `new_rules`, in their order."""
    await session.execute(delete(RuleRow))
    session.add_all([to_row(i, rule) for i, rule in enumerate(new_rules)])


async def last_assignee(session: AsyncSession, team_id: str) -> str | None:
    """The team's last rep given a lead by round robin (None: none yet), locked on PostgreSQL
    until the lead's transaction ends, so replicas hand out leads in one shared order."""
    state = await session.scalar(select(RoundRobinState).where(RoundRobinState.team_id == team_id).with_for_update())
    return None if state is None else state.last_assignee


async def advance(session: AsyncSession, team_id: str, rep_id: str, *, first: bool) -> None:
    """Record `rep_id` as the team's last assignee; `first`: the team had none (last_assignee
    answered None in this transaction), so no stored position is read again."""
    if first:
        session.add(RoundRobinState(team_id=team_id, last_assignee=rep_id))
        return
    state = await session.get(RoundRobinState, team_id)  # held by last_assignee: no query
    assert state is not None
    state.last_assignee = rep_id


async def team_reps(session: AsyncSession, team_id: str) -> list[str]:
    """The team's active reps from the directory replica, in a stable order every replica shares."""
    rows = (
        await session.execute(
            select(directory_users.c.user_id, directory_users.c.roles)
            .where(directory_users.c.unit_id == team_id, directory_users.c.active.is_(True))
            .order_by(directory_users.c.user_id)
        )
    ).all()
    return [r.user_id for r in rows if "rep" in r.roles.split(",")]


async def active_unit_path(session: AsyncSession, unit_id: str | None) -> str | None:
    """The org path of an active unit of the directory replica (None: unknown or inactive)."""
    path = await session.scalar(
        select(directory_units.c.path).where(directory_units.c.unit_id == unit_id, directory_units.c.active.is_(True))
    )
    return None if path is None else str(path)
