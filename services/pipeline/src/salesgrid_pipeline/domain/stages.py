"""Stage transitions of an opportunity: advance through gates, regress, win, lose.

Every function is pure: it takes the current state and an injected ``now`` and returns a
:class:`StageTransition` for the caller to persist (with :func:`apply_transition` giving the new
state), or raises. A rejected advance (虚假推进 attempt) raises :class:`GateRejected`; the caller
persists :func:`gate_violation` of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from types import MappingProxyType

from salesgrid_common.validation import require_aware, require_text

from .errors import Conflict, FailedPrecondition, ValidationFailed
from .gate_facts import FactProblem, FactValue, check_facts, value_problems
from .stage_model import Outcome, Stage, StageModel

REASON_MAX_LENGTH = 1000
CUSTOM = "custom_fields."


class TransitionKind(str, Enum):
    ADVANCE = "advance"
    REGRESS = "regress"
    WON = "won"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class OpportunityState:
    """What the stage rules need of an opportunity."""

    opportunity_id: str
    stage_code: str
    entered_at: datetime  # when the current stage was entered
    facts: Mapping[str, FactValue] = field(default_factory=dict)
    custom_fields: Mapping[str, object] = field(default_factory=dict)  # the opportunity's values
    archived_custom_fields: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class StageTransition:
    """One row of stage history; ``facts`` is the opportunity's full fact set after the move."""

    opportunity_id: str
    kind: TransitionKind
    from_stage: str
    to_stage: str
    at: datetime
    by: str
    facts: Mapping[str, FactValue]
    skipped_stages: tuple[str, ...] = ()
    reason: str | None = None


class GateRejected(FailedPrecondition):
    """An advance was refused: facts missing or invalid, or an unskippable stage jumped.

    Kept here rather than in ``errors`` because that module is replaced by the shared library's.
    """

    def __init__(
        self,
        *,
        opportunity_id: str,
        from_stage: str,
        target_stage: str,
        actor: str,
        at: datetime,
        problems: tuple[FactProblem, ...],
        unskippable_stages: tuple[str, ...],
    ) -> None:
        parts = [f"{p.code}: {p.message}" for p in problems]
        parts += [f"stage {code!r} cannot be skipped" for code in unskippable_stages]
        super().__init__(
            f"cannot enter stage {target_stage!r}: " + "; ".join(parts),
            "target_stage",
            reason="STAGE_GATE_UNMET",
            info={
                "target_stage": target_stage,
                # fact codes (custom fields as custom_fields.<key>), comma-separated
                "missing_facts": ",".join(p.code for p in problems if p.problem == "missing"),
                "invalid_facts": ",".join(dict.fromkeys(p.code for p in problems if p.problem == "invalid")),
                "unskippable_stages": ",".join(unskippable_stages),
            },
        )
        self.opportunity_id = opportunity_id
        self.from_stage = from_stage
        self.target_stage = target_stage
        self.actor = actor
        self.at = at
        self.problems = problems
        self.unskippable_stages = unskippable_stages
        # custom-field problems are coded custom_fields.<key>, fact problems by the fact's code
        self.violations = [
            (p.code if p.code.startswith(CUSTOM) else f"facts.{p.code}", p.message) for p in problems
        ] + [("target_stage", f"stage {code!r} cannot be skipped") for code in unskippable_stages]


@dataclass(frozen=True, slots=True)
class GateViolation:
    """A recorded 虚假推进 attempt: who tried to move which opportunity where, and what was missing."""

    opportunity_id: str
    actor: str
    at: datetime
    from_stage: str
    target_stage: str
    missing_facts: tuple[str, ...]
    invalid_facts: tuple[tuple[str, str], ...]
    unskippable_stages: tuple[str, ...]


def gate_violation(rejection: GateRejected) -> GateViolation:
    """The violation record to persist for a rejected advance."""
    return GateViolation(
        opportunity_id=rejection.opportunity_id,
        actor=rejection.actor,
        at=rejection.at,
        from_stage=rejection.from_stage,
        target_stage=rejection.target_stage,
        missing_facts=tuple(p.code for p in rejection.problems if p.problem == "missing"),
        invalid_facts=tuple((p.code, p.message) for p in rejection.problems if p.problem == "invalid"),
        unskippable_stages=rejection.unskippable_stages,
    )


def ensure_open(state: OpportunityState, model: StageModel) -> Stage:
    """The current stage, or ``FailedPrecondition`` if the opportunity is won or lost."""
    stage = model.stage(state.stage_code)
    if stage.is_terminal:
        raise FailedPrecondition(f"opportunity is closed ({stage.code}); it can no longer change", "stage")
    return stage


def _check_known_facts(supplied: Mapping[str, object], model: StageModel) -> None:
    unknown = [
        (f"facts.{code}", "is not a fact of this stage model") for code in supplied if model.fact_spec(code) is None
    ]
    if unknown:
        raise ValidationFailed.many(unknown)


def update_facts(state: OpportunityState, supplied: Mapping[str, FactValue], model: StageModel) -> dict[str, FactValue]:
    """Record facts without moving stage; returns the merged fact set. Closed opportunities refuse."""
    ensure_open(state, model)
    _check_known_facts(supplied, model)
    problems = []
    for code, value in supplied.items():
        spec = model.fact_spec(code)
        assert spec is not None
        problems += [(f"facts.{code}", message) for message in value_problems(spec, value)]
    if problems:
        raise ValidationFailed.many(problems)
    return {**state.facts, **supplied}


def advance(
    state: OpportunityState,
    target_stage: str,
    supplied_facts: Mapping[str, FactValue],
    model: StageModel,
    actor: str,
    now: datetime,
) -> StageTransition:
    """Move forward to ``target_stage`` (including the won stage) through every gate on the way.

    Gates are cumulative: entering the target needs the required facts of every stage from the
    one after the current up to the target, and each stage jumped over must be skippable.
    A gate's required custom fields must hold a value in ``state.custom_fields``; a field since
    archived no longer takes values, so its gate no longer requires it.
    """
    actor = require_text(actor, "actor", max_length=200)
    require_aware(now, "now")
    current = ensure_open(state, model)
    target = model.stage(target_stage, "target_stage")
    if target.outcome is Outcome.LOST:
        raise ValidationFailed("an opportunity is lost with a reason, not advanced to lost", "target_stage")
    current_index, target_index = model.index(current.code), model.index(target.code)
    if target_index <= current_index:
        raise FailedPrecondition(
            f"{target.code!r} is not after the current stage {current.code!r}; regress instead", "target_stage"
        )
    _check_known_facts(supplied_facts, model)

    crossed = model.stages[current_index + 1 : target_index + 1]
    skipped = crossed[:-1]
    merged: dict[str, FactValue] = {**state.facts, **supplied_facts}
    problems = check_facts(tuple(spec for stage in crossed for spec in stage.required_facts), merged)
    problems += [
        FactProblem(f"{CUSTOM}{key}", "missing", "is required to enter this stage (custom field)")
        for key in dict.fromkeys(k for stage in crossed for k in stage.required_custom_fields)
        if key not in state.archived_custom_fields and state.custom_fields.get(key) in (None, "", [])
    ]
    # a supplied value for a later stage's fact must be valid too, even though not yet required
    required_codes = {spec.code for stage in crossed for spec in stage.required_facts}
    for code, value in supplied_facts.items():
        spec = model.fact_spec(code)
        if code not in required_codes and spec is not None:
            problems += [FactProblem(code, "invalid", m) for m in value_problems(spec, value)]
    unskippable = tuple(stage.code for stage in skipped if not stage.skippable)
    if problems or unskippable:
        raise GateRejected(
            opportunity_id=state.opportunity_id,
            from_stage=current.code,
            target_stage=target.code,
            actor=actor,
            at=now,
            problems=tuple(problems),
            unskippable_stages=unskippable,
        )
    return StageTransition(
        opportunity_id=state.opportunity_id,
        kind=TransitionKind.WON if target.outcome is Outcome.WON else TransitionKind.ADVANCE,
        from_stage=current.code,
        to_stage=target.code,
        at=now,
        by=actor,
        facts=MappingProxyType(merged),
        skipped_stages=tuple(stage.code for stage in skipped),
    )


def win(
    state: OpportunityState, supplied_facts: Mapping[str, FactValue], model: StageModel, actor: str, now: datetime
) -> StageTransition:
    """Advance to the model's won stage (its gate: award notice and bid-opening documents)."""
    return advance(state, model.won_stage.code, supplied_facts, model, actor, now)


def lose(state: OpportunityState, reason: str, model: StageModel, actor: str, now: datetime) -> StageTransition:
    """Close as lost from any open stage; a reason is required."""
    reason = require_text(reason, "reason", max_length=REASON_MAX_LENGTH)
    actor = require_text(actor, "actor", max_length=200)
    require_aware(now, "now")
    current = ensure_open(state, model)
    return StageTransition(
        opportunity_id=state.opportunity_id,
        kind=TransitionKind.LOST,
        from_stage=current.code,
        to_stage=model.lost_stage.code,
        at=now,
        by=actor,
        facts=MappingProxyType(dict(state.facts)),
        reason=reason,
    )


def regress(
    state: OpportunityState, target_stage: str, reason: str, model: StageModel, actor: str, now: datetime
) -> StageTransition:
    """Move back to an earlier open stage with a reason; facts already recorded are kept."""
    reason = require_text(reason, "reason", max_length=REASON_MAX_LENGTH)
    actor = require_text(actor, "actor", max_length=200)
    require_aware(now, "now")
    current = ensure_open(state, model)
    target = model.stage(target_stage, "target_stage")
    if target.is_terminal or model.index(target.code) >= model.index(current.code):
        raise FailedPrecondition(f"{target.code!r} is not an open stage before {current.code!r}", "target_stage")
    return StageTransition(
        opportunity_id=state.opportunity_id,
        kind=TransitionKind.REGRESS,
        from_stage=current.code,
        to_stage=target.code,
        at=now,
        by=actor,
        facts=MappingProxyType(dict(state.facts)),
        reason=reason,
    )


def apply_transition(state: OpportunityState, transition: StageTransition) -> OpportunityState:
    """The opportunity state after ``transition`` (stage entered at the transition time)."""
    if transition.opportunity_id != state.opportunity_id or transition.from_stage != state.stage_code:
        raise Conflict("transition does not start from this opportunity's current stage", "stage")
    return OpportunityState(
        state.opportunity_id,
        transition.to_stage,
        transition.at,
        dict(transition.facts),
        state.custom_fields,
        state.archived_custom_fields,
    )
