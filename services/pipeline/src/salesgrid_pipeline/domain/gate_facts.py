"""Gate facts: the typed evidence a stage gate requires of an opportunity (budget, dates,
organisations, documents, visits). Not analytics' facts, which are events projected for reporting
(salesgrid_analytics.factstore); on the wire these stay `Fact` / `facts` / `required_facts`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import TypeAlias

from ._checks import normalise_key
from .money import Money, check_money

TEXT_MAX_LENGTH = 2000
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class FactType(str, Enum):
    AMOUNT = "amount"  # Money
    DATE = "date"  # datetime.date (not a datetime)
    TEXT = "text"  # str
    ORGANISATIONS = "organisations"  # tuple[str, ...]
    DOCUMENT = "document"  # DocumentRef
    VISITS = "visits"  # tuple[VisitRef, ...] of check-ins / follow-ups


class VisitKind(str, Enum):
    """Kinds of activities (follow-ups and check-ins) a visits fact may reference."""

    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    VISIT = "visit"


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """An archived document (tender, bid, award notice…) held by the document store."""

    document_id: str
    file_name: str = ""


@dataclass(frozen=True, slots=True)
class VisitRef:
    """A check-in or follow-up recorded by the activities service."""

    activity_id: str
    kind: VisitKind


FactValue: TypeAlias = Money | date | str | tuple[str, ...] | DocumentRef | tuple[VisitRef, ...]


@dataclass(frozen=True, slots=True)
class FactSpec:
    """One fact a gate requires. ``min_count``/``visit_kinds`` only apply to VISITS facts."""

    code: str
    name: str
    type: FactType
    min_count: int = 1
    visit_kinds: frozenset[VisitKind] = field(default_factory=frozenset)


def spec_problems(spec: object, where: str) -> list[tuple[str, str]]:
    """Violations of a fact definition inside a stage model (``where`` prefixes the field)."""
    if not isinstance(spec, FactSpec):
        return [(where, "must be a FactSpec")]
    problems: list[tuple[str, str]] = []
    if not isinstance(spec.code, str) or not _CODE.match(spec.code):
        problems.append((f"{where}.code", "must be snake_case, 1-64 characters"))
    if not isinstance(spec.name, str) or not spec.name.strip():
        problems.append((f"{where}.name", "is required"))
    if not isinstance(spec.type, FactType):
        problems.append((f"{where}.type", f"must be one of {[t.value for t in FactType]}"))
        return problems
    if spec.type is FactType.VISITS:
        if isinstance(spec.min_count, bool) or not isinstance(spec.min_count, int) or spec.min_count < 1:
            problems.append((f"{where}.min_count", "must be a whole number ≥ 1"))
        if not spec.visit_kinds or not all(isinstance(k, VisitKind) for k in spec.visit_kinds):
            problems.append((f"{where}.visit_kinds", "must name at least one visit kind"))
    elif spec.min_count != 1 or spec.visit_kinds:
        problems.append((where, "min_count and visit_kinds apply only to visits facts"))
    return problems


def value_problems(spec: FactSpec, value: object) -> list[str]:
    """Why ``value`` is not a valid value of ``spec`` (empty when it is)."""
    match spec.type:
        case FactType.AMOUNT:
            return [f"{f}: {m}" if f != spec.code else m for f, m in check_money(value, spec.code)]
        case FactType.DATE:
            # a datetime is a date subclass; refuse it so no time zone is silently dropped
            if not isinstance(value, date) or isinstance(value, datetime):
                return ["must be a date"]
            return []
        case FactType.TEXT:
            if not isinstance(value, str) or not value.strip():
                return ["must be non-empty text"]
            if len(value.strip()) > TEXT_MAX_LENGTH:
                return [f"must be at most {TEXT_MAX_LENGTH} characters"]
            return []
        case FactType.ORGANISATIONS:
            return _organisation_problems(value)
        case FactType.DOCUMENT:
            if (
                not isinstance(value, DocumentRef)
                or not isinstance(value.document_id, str)
                or not value.document_id.strip()
            ):
                return ["must reference an archived document"]
            return []
        case FactType.VISITS:
            return _visit_problems(spec, value)
    return [f"unsupported fact type {spec.type!r}"]


def _organisation_problems(value: object) -> list[str]:
    if not isinstance(value, tuple | list) or not value:
        return ["must list at least one organisation"]
    if not all(isinstance(name, str) and name.strip() for name in value):
        return ["organisation names must be non-empty text"]
    keys = [normalise_key(name) for name in value]
    if len(set(keys)) != len(keys):
        return ["lists the same organisation twice"]
    return []


def _visit_problems(spec: FactSpec, value: object) -> list[str]:
    if not isinstance(value, tuple | list) or not all(isinstance(v, VisitRef) for v in value):
        return ["must be a list of visit references"]
    # count distinct activities: the same check-in referenced twice is still one visit
    qualifying = {v.activity_id for v in value if v.kind in spec.visit_kinds and v.activity_id}
    if len(qualifying) < spec.min_count:
        kinds = "/".join(sorted(k.value for k in spec.visit_kinds))
        return [f"needs at least {spec.min_count} {kinds} activities, has {len(qualifying)}"]
    return []


@dataclass(frozen=True, slots=True)
class FactProblem:
    """A required fact that is missing, or a supplied fact whose value is invalid."""

    code: str
    problem: str  # "missing" or "invalid"
    message: str


def check_facts(specs: tuple[FactSpec, ...], values: Mapping[str, object]) -> list[FactProblem]:
    """Missing or invalid values among ``specs``, in the order of the specs."""
    problems: list[FactProblem] = []
    for spec in specs:
        if spec.code not in values or values[spec.code] is None:
            problems.append(FactProblem(spec.code, "missing", f"{spec.name} is required"))
            continue
        for message in value_problems(spec, values[spec.code]):
            problems.append(FactProblem(spec.code, "invalid", message))
    return problems
