"""The opportunity stage model analytics reports against (mirrors the pipeline's configuration)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .errors import ValidationFailed
from .money import to_decimal

WON = "won"
LOST = "lost"


@dataclass(frozen=True)
class Stage:
    name: str
    probability: Decimal  # chance of winning from this stage, 0..1

    def __post_init__(self) -> None:
        if not self.name or self.name in (WON, LOST):
            raise ValidationFailed(f"{self.name!r} cannot be an open stage name", "stage.name")
        p = to_decimal(self.probability, "stage.probability")
        if not 0 <= p <= 1:
            raise ValidationFailed("must be between 0 and 1", "stage.probability")
        object.__setattr__(self, "probability", p)


@dataclass(frozen=True)
class StageModel:
    """Ordered open stages; `won` and `lost` are the terminal outcomes after the last one."""

    stages: tuple[Stage, ...]

    def __post_init__(self) -> None:
        names = [s.name for s in self.stages]
        if not names:
            raise ValidationFailed("a stage model needs at least one stage", "stages")
        if len(set(names)) != len(names):
            raise ValidationFailed("stage names must be unique", "stages")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages)

    def index(self, name: str) -> int | None:
        for i, stage in enumerate(self.stages):
            if stage.name == name:
                return i
        return None

    def probability(self, name: str) -> Decimal:
        """Won counts as certain, lost and unknown stages as nothing."""
        if name == WON:
            return Decimal(1)
        i = self.index(name)
        return self.stages[i].probability if i is not None else Decimal(0)

    def next_of(self, name: str) -> str | None:
        """The stage after `name` (the last open stage leads to `won`)."""
        i = self.index(name)
        if i is None:
            return None
        return self.stages[i + 1].name if i + 1 < len(self.stages) else WON


# From the source documents: lead → opportunity → 立项 → 正式沟通 → 投标 → 结果 → 中标/lost.
DEFAULT_STAGE_MODEL = StageModel(
    (
        Stage("lead", Decimal("0.05")),
        Stage("opportunity", Decimal("0.10")),
        Stage("approval", Decimal("0.25")),
        Stage("communication", Decimal("0.40")),
        Stage("bidding", Decimal("0.60")),
        Stage("result", Decimal("0.80")),
    )
)
