"""Stage models: per business line, ordered stages with SLA, probability and gate facts.

``Stage.required_facts`` are the facts that must be present to ENTER the stage (the gate at
its door). ``Stage.sla_days`` is how long an opportunity may stay IN the stage: the source
documents' "线索到商机1个月" means at most one month in the lead stage, "商机到立项2周" at most two
weeks in the opportunity stage, and so on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from .errors import NotFound, ValidationFailed
from salesgrid_common.custom_fields.definitions import KEY as CUSTOM_KEY

from .gate_facts import FactSpec, FactType, VisitKind, spec_problems


class Outcome(str, Enum):
    """How a terminal stage closes an opportunity."""

    WON = "won"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class Stage:
    code: str
    name: str
    probability: int  # win probability in percent, 0..100
    sla_days: int | None = None  # None only for terminal stages
    required_facts: tuple[FactSpec, ...] = ()
    skippable: bool = False  # may be jumped over by an advance to a later stage
    outcome: Outcome | None = None  # set on the won / lost terminal stages
    # Keys of opportunity custom fields that must hold a value to enter the stage.
    required_custom_fields: tuple[str, ...] = ()

    @property
    def is_terminal(self) -> bool:
        return self.outcome is not None


@dataclass(frozen=True, slots=True)
class StageModel:
    """Ordered stages: open stages first, then the won and lost terminals."""

    code: str
    name: str
    stages: tuple[Stage, ...]
    entry_stage_code: str  # where a newly created opportunity starts

    def __iter__(self) -> Iterator[Stage]:
        return iter(self.stages)

    def stage(self, code: str, field: str = "stage") -> Stage:
        for stage in self.stages:
            if stage.code == code:
                return stage
        raise NotFound(f"stage {code!r} is not in stage model {self.code!r}", field)

    def index(self, code: str, field: str = "stage") -> int:
        return self.stages.index(self.stage(code, field))

    @property
    def open_stages(self) -> tuple[Stage, ...]:
        return tuple(s for s in self.stages if not s.is_terminal)

    @property
    def won_stage(self) -> Stage:
        return next(s for s in self.stages if s.outcome is Outcome.WON)

    @property
    def lost_stage(self) -> Stage:
        return next(s for s in self.stages if s.outcome is Outcome.LOST)

    @property
    def gates_custom_fields(self) -> bool:
        """Whether any stage's gate requires custom fields."""
        return any(stage.required_custom_fields for stage in self.stages)

    def fact_spec(self, code: str) -> FactSpec | None:
        """The definition of a fact code anywhere in the model (codes are unique model-wide)."""
        for stage in self.stages:
            for spec in stage.required_facts:
                if spec.code == code:
                    return spec
        return None


def model_problems(model: StageModel) -> list[tuple[str, str]]:
    """Every violation of the stage-model rules, as ``(field, message)``."""
    problems: list[tuple[str, str]] = []
    if not isinstance(model.code, str) or not model.code.strip():
        problems.append(("code", "is required"))
    if not isinstance(model.name, str) or not model.name.strip():
        problems.append(("name", "is required"))
    if not model.stages:
        return problems + [("stages", "must not be empty")]

    seen_codes: set[str] = set()
    seen_facts: dict[str, str] = {}
    for i, stage in enumerate(model.stages):
        where = f"stages[{i}]"
        if not isinstance(stage.code, str) or not stage.code.strip():
            problems.append((f"{where}.code", "is required"))
        elif stage.code in seen_codes:
            problems.append((f"{where}.code", f"duplicate stage code {stage.code!r}"))
        seen_codes.add(stage.code)
        if not isinstance(stage.name, str) or not stage.name.strip():
            problems.append((f"{where}.name", "is required"))
        if (
            isinstance(stage.probability, bool)
            or not isinstance(stage.probability, int)
            or not 0 <= stage.probability <= 100
        ):
            problems.append((f"{where}.probability", "must be a whole percent 0..100"))
        if stage.is_terminal:
            if stage.sla_days is not None:
                problems.append((f"{where}.sla_days", "terminal stages have no SLA"))
            if stage.skippable:
                problems.append((f"{where}.skippable", "terminal stages cannot be skippable"))
        elif isinstance(stage.sla_days, bool) or not isinstance(stage.sla_days, int) or stage.sla_days <= 0:
            problems.append((f"{where}.sla_days", "must be a positive number of days"))
        for j, spec in enumerate(stage.required_facts):
            fact_where = f"{where}.required_facts[{j}]"
            problems.extend(spec_problems(spec, fact_where))
            if isinstance(spec, FactSpec):
                if spec.code in seen_facts:
                    problems.append(
                        (
                            f"{fact_where}.code",
                            f"fact {spec.code!r} is already required by stage {seen_facts[spec.code]!r}",
                        )
                    )
                seen_facts[spec.code] = stage.code
        keys = stage.required_custom_fields
        if any(not isinstance(k, str) or not CUSTOM_KEY.match(k) for k in keys) or len(set(keys)) != len(keys):
            problems.append((f"{where}.required_custom_fields", "must be distinct custom field keys"))
    problems.extend(_terminal_problems(model))
    problems.extend(_probability_problems(model))
    if model.entry_stage_code not in {s.code for s in model.open_stages}:
        problems.append(("entry_stage_code", "must be one of the open stages"))
    return problems


def _terminal_problems(model: StageModel) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    won = [s for s in model.stages if s.outcome is Outcome.WON]
    lost = [s for s in model.stages if s.outcome is Outcome.LOST]
    if len(won) != 1:
        problems.append(("stages", f"needs exactly one won terminal stage, has {len(won)}"))
    if len(lost) != 1:
        problems.append(("stages", f"needs exactly one lost terminal stage, has {len(lost)}"))
    first_terminal = next((i for i, s in enumerate(model.stages) if s.is_terminal), len(model.stages))
    if any(not s.is_terminal for s in model.stages[first_terminal:]):
        problems.append(("stages", "terminal stages must come after every open stage"))
    if not any(not s.is_terminal for s in model.stages):
        problems.append(("stages", "needs at least one open stage"))
    if len(won) == 1 and won[0].probability != 100:
        problems.append(("stages", "the won stage must have probability 100"))
    if len(lost) == 1 and lost[0].probability != 0:
        problems.append(("stages", "the lost stage must have probability 0"))
    return problems


def _probability_problems(model: StageModel) -> list[tuple[str, str]]:
    """Probabilities never decrease along the open stages up to the won stage."""
    path = [s for s in model.stages if s.outcome is not Outcome.LOST]
    for before, after in zip(path, path[1:]):
        if (
            isinstance(before.probability, int)
            and isinstance(after.probability, int)
            and after.probability < before.probability
        ):
            return [("stages", f"probability decreases from {before.code!r} to {after.code!r}")]
    return []


def validate_stage_model(model: StageModel) -> StageModel:
    """Return the model if it is valid, else raise ``ValidationFailed`` with every violation."""
    problems = model_problems(model)
    if problems:
        raise ValidationFailed.many(problems)
    return model


# ---- the default model from the source documents (004: 规范4 销售阶段推进规范) ----------------

DECISION_CHAIN_MIN_VISITS = 3  # e.g. owner's leadership, design institute, using department


def _fact(code: str, name: str, kind: FactType, **extra: object) -> FactSpec:
    return FactSpec(code, name, kind, **extra)  # type: ignore[arg-type]


def default_stage_model() -> StageModel:
    """lead → opportunity → 立项 → 正式沟通 → 投标 → 结果 → 中标 / lost; nothing skippable."""
    return validate_stage_model(
        StageModel(
            code="default",
            name="Default (project sales)",
            entry_stage_code="opportunity",
            stages=(
                Stage("lead", "Lead / 线索", 5, sla_days=30),
                Stage("opportunity", "Opportunity / 商机", 10, sla_days=14),
                Stage(
                    "approval",
                    "Project approval / 立项",
                    25,
                    sla_days=30,
                    required_facts=(
                        _fact("budget", "Budget / 预算", FactType.AMOUNT),
                        _fact("our_expected_amount", "Our expected amount / 预计我司金额", FactType.AMOUNT),
                        _fact("latest_expected_bid_date", "Latest expected bid date / 预计最晚投标时间", FactType.DATE),
                        _fact("design_organisations", "Design organisations / 设计单位", FactType.ORGANISATIONS),
                        _fact("decision_organisations", "Decision organisations / 决策单位", FactType.ORGANISATIONS),
                        _fact("user_organisations", "User organisations / 使用单位", FactType.ORGANISATIONS),
                        _fact(
                            "decision_chain_visits",
                            "Decision-chain visits / 决策链拜访",
                            FactType.VISITS,
                            min_count=DECISION_CHAIN_MIN_VISITS,
                            visit_kinds=frozenset({VisitKind.VISIT, VisitKind.MEETING}),
                        ),
                    ),
                ),
                Stage(
                    "formal_communication",
                    "Formal communication / 正式沟通",
                    40,
                    sla_days=30,
                    required_facts=(
                        _fact("expected_bid_date", "Expected bid date / 预计投标时间", FactType.DATE),
                        _fact("expected_winning_amount", "Expected winning amount / 预计中标金额", FactType.AMOUNT),
                    ),
                ),
                Stage(
                    "bidding",
                    "Bidding / 投标",
                    60,
                    sla_days=60,
                    required_facts=(
                        _fact("tender_document", "Tender document / 招标文件", FactType.DOCUMENT),
                        _fact("bid_document", "Bid document / 投标文件", FactType.DOCUMENT),
                        _fact("publication_date", "Tender publication date / 发标时间", FactType.DATE),
                        _fact("response_date", "Bid response date / 应标时间", FactType.DATE),
                    ),
                ),
                # not in the source documents: time from bid opening to the award decision
                Stage("result", "Result / 结果", 80, sla_days=30),
                Stage(
                    "won",
                    "Won / 中标",
                    100,
                    outcome=Outcome.WON,
                    required_facts=(
                        _fact("award_notice", "Award notice / 中标通知书", FactType.DOCUMENT),
                        _fact("bid_opening_documents", "Bid-opening documents / 开标文件、一览表", FactType.DOCUMENT),
                    ),
                ),
                Stage("lost", "Lost / 输单", 0, outcome=Outcome.LOST),
            ),
        )
    )
