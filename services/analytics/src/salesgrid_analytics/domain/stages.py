"""Stage models as pipeline publishes them (`salesgrid.pipeline.stage_model.published`).

Analytics keeps no stage list of its own: each model (codes, order, probabilities, outcomes) is
learned from pipeline's events, and each opportunity fact names the model it follows. Funnel rows
are a model's open stages in order; the last open stage leads to the won outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ValidationFailed

WON = "won"
LOST = "lost"
DEFAULT_MODEL = "default"  # the code of pipeline's built-in model (facts from before models were named)


@dataclass(frozen=True)
class Stage:
    code: str
    probability: int  # chance of winning from this stage, whole percent 0..100
    outcome: str = ""  # WON / LOST on the terminal stages
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code.strip():
            raise ValidationFailed("is required", "stage.code")
        if (
            isinstance(self.probability, bool)
            or not isinstance(self.probability, int)
            or not 0 <= self.probability <= 100
        ):
            raise ValidationFailed("must be a whole percent 0..100", "stage.probability")
        if self.outcome not in ("", WON, LOST):
            raise ValidationFailed(f"must be won, lost or empty, got {self.outcome!r}", "stage.outcome")

    @property
    def is_open(self) -> bool:
        return not self.outcome


@dataclass(frozen=True)
class StageModel:
    """A model's stages in pipeline's order: open stages first, then the terminals."""

    code: str
    version: int
    stages: tuple[Stage, ...]
    name: str = ""

    def __post_init__(self) -> None:
        codes = [s.code for s in self.stages]
        if not any(s.is_open for s in self.stages):
            raise ValidationFailed("a stage model needs at least one open stage", "stages")
        if len(set(codes)) != len(codes):
            raise ValidationFailed("stage codes must be unique", "stages")

    @property
    def names(self) -> tuple[str, ...]:
        """The open stages' codes, in order (the funnel's rows)."""
        return tuple(s.code for s in self.stages if s.is_open)

    def probability(self, code: str) -> int | None:
        """The stage's win probability; None for a code the model does not have."""
        return next((s.probability for s in self.stages if s.code == code), None)

    def next_of(self, code: str) -> str | None:
        """The open stage after `code` (the last open stage leads to WON)."""
        names = self.names
        if code not in names:
            return None
        i = names.index(code)
        return names[i + 1] if i + 1 < len(names) else WON


def model_from_definition(code: str, version: int, definition: Mapping[str, Any]) -> StageModel:
    """A model from its stored JSON (see `definition_of`)."""
    return StageModel(
        code=code,
        version=version,
        name=definition.get("name", ""),
        stages=tuple(
            Stage(code=s["code"], probability=s["probability"], outcome=s.get("outcome", ""), name=s.get("name", ""))
            for s in definition["stages"]
        ),
    )


def definition_of(model: StageModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "stages": [
            {"code": s.code, "name": s.name, "probability": s.probability, "outcome": s.outcome} for s in model.stages
        ],
    }
