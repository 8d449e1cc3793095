"""Who gets a new lead (线索分配): the rule table (region, industry -> a rep or a team) and round
robin within a team."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ._checks import normalise_key
from .errors import FailedPrecondition, ValidationFailed
from .leads import Lead


def round_robin_next(rep_ids: Sequence[str], last_assignee: str | None) -> str:
    """The rep after ``last_assignee`` in the team's order (the first if unknown or None)."""
    if not rep_ids:
        raise FailedPrecondition("the team has no reps to assign to", "rep_ids")
    if len(set(rep_ids)) != len(rep_ids):
        raise ValidationFailed("lists a rep twice", "rep_ids")
    if last_assignee is None or last_assignee not in rep_ids:
        return rep_ids[0]
    return rep_ids[(list(rep_ids).index(last_assignee) + 1) % len(rep_ids)]


@dataclass(frozen=True, slots=True)
class AssignmentRule:
    """One row of the rule table; empty region/industry match anything. Exactly one target."""

    region: str = ""
    industry: str = ""
    rep_id: str | None = None
    team_id: str | None = None


@dataclass(frozen=True, slots=True)
class Assignment:
    rep_id: str
    team_id: str | None  # set when chosen round-robin within a team; store as that team's last assignee


def validate_rules(rules: Sequence[AssignmentRule]) -> None:
    problems = [
        (f"rules[{i}]", "must name exactly one of rep_id and team_id")
        for i, rule in enumerate(rules)
        if (rule.rep_id is None) == (rule.team_id is None)
    ]
    if problems:
        raise ValidationFailed.many(problems)


def match_rule(rules: Sequence[AssignmentRule], region: str, industry: str) -> AssignmentRule | None:
    """The first rule (table order) whose region and industry match, case/width-insensitively."""
    for rule in rules:
        if rule.region and normalise_key(rule.region) != normalise_key(region):
            continue
        if rule.industry and normalise_key(rule.industry) != normalise_key(industry):
            continue
        return rule
    return None


def choose_assignee(
    lead: Lead,
    rules: Sequence[AssignmentRule],
    teams: Mapping[str, Sequence[str]],
    last_assignees: Mapping[str, str],
) -> Assignment | None:
    """Who gets the lead by rule; None means no rule matched and it stays in the pool.

    ``teams`` maps team id to its ordered rep ids, ``last_assignees`` team id to the last rep
    given a lead by round robin.
    """
    validate_rules(rules)
    rule = match_rule(rules, lead.region, lead.industry)
    if rule is None:
        return None
    if rule.rep_id is not None:
        return Assignment(rule.rep_id, None)
    assert rule.team_id is not None
    if rule.team_id not in teams:
        raise FailedPrecondition(f"assignment rule names unknown team {rule.team_id!r}", "team_id")
    return Assignment(round_robin_next(teams[rule.team_id], last_assignees.get(rule.team_id)), rule.team_id)
