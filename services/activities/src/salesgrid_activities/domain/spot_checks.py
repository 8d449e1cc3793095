"""Weekly spot checks of follow-ups (每周抽查): 销售管理专员每周对每个置业顾问的客户跟进情况进行一次抽查,
核实客户跟进信息是否属实; 每虚报一次, 罚款 (the unit's falsified fine, unit_policies).

Each week (Monday to Sunday in the rep's branch calendar) that has ended, a sample of the rep's
follow-ups of that week is drawn and assigned to a sales administrator over the rep (the nearest
one up his org path). The draw is reproducible, seeded by the week and the rep, and fair: every
follow-up of the week is equally likely to be chosen. The administrator finds each true or false;
a false one is counted in the falsification ledger (虚报) with the fine in force at that moment."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from ._validation import Violations
from .errors import Conflict, PermissionDenied

DEFAULT_SAMPLE_SIZE = 3
MAX_NOTE = 2000


class Verdict(StrEnum):
    PENDING = "pending"
    TRUE = "true"
    FALSE = "false"


def week_start(local_day: date) -> date:
    """The Monday of the week local_day falls in."""
    return local_day - timedelta(days=local_day.weekday())


def week_key(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def last_ended_week(today: date) -> date:
    """The Monday of the latest week that has ended by local date `today` (the week before this one)."""
    return week_start(today) - timedelta(days=7)


def seed(week: str, rep_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{week}|{rep_id}".encode()).digest()[:8], "big")


def draw(follow_up_ids: Iterable[str], *, week: str, rep_id: str, size: int = DEFAULT_SAMPLE_SIZE) -> list[str]:
    """A uniform sample without replacement of at most `size` ids, the same for the same week,
    rep and follow-ups whatever order they come in; returned sorted."""
    population = sorted(set(follow_up_ids))
    if size <= 0 or not population:
        return []
    rng = random.Random(seed(week, rep_id))
    return sorted(rng.sample(population, min(size, len(population))))


def choose_verifier(rep_id: str, rep_path: str, week: str, admins: Sequence[tuple[str, str]]) -> str | None:
    """The sales administrator who checks a rep's week: among (user id, org path) of those over the
    rep (path a prefix of his), the nearest level; several there share the reps by a stable hash.
    Nobody checks himself. None when there is nobody."""
    over = [(uid, path) for uid, path in admins if rep_path.startswith(path) and uid != rep_id]
    if not over:
        return None
    deepest = max(len(path) for _, path in over)
    nearest = sorted(uid for uid, path in over if len(path) == deepest)
    return nearest[seed(week, rep_id) % len(nearest)]


@dataclass(frozen=True)
class SpotCheck:
    """One sampled follow-up of a rep (`owner_id`), the administrator who verifies it and his
    finding; a false one carries the fine in force when it was found."""

    id: str
    follow_up_id: str
    week: str
    owner_id: str
    org_path: str
    verifier_id: str
    verdict: Verdict
    assigned_at: datetime
    note: str = ""
    fine: Decimal | None = None
    currency: str = ""
    verified_at: datetime | None = None
    version: int = 1


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    note: str


def record_verdict(*, current: Verdict, assignee_id: str, verifier_id: str, verdict: str, note: str) -> Finding:
    """Only the assigned administrator decides, once; a false finding states why."""
    v = Violations()
    if verdict not in (Verdict.TRUE, Verdict.FALSE):
        v.add("verdict", "must be true or false")
    clean = v.text(note, "note", max_length=MAX_NOTE, required=verdict == Verdict.FALSE) or ""
    v.raise_if_any()
    if verifier_id != assignee_id:
        raise PermissionDenied("only the sales administrator it is assigned to verifies this follow-up")
    if current is not Verdict.PENDING:
        raise Conflict(f"the follow-up was already found {current.value}", "verdict")
    return Finding(Verdict(verdict), clean)


@dataclass(frozen=True)
class LedgerEntry:
    rep_id: str
    kind: str  # "follow_up" (a spot check found false) | "daily_report" (a report marked falsified)
    record_id: str
    found_at: datetime
    fine: str
    currency: str


def ledger_totals(entries: Iterable[LedgerEntry]) -> list[tuple[str, int, Decimal, str]]:
    """Per rep and currency: (rep id, count, total fine, currency), sorted by rep."""
    sums: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for e in entries:
        count, total = sums.get((e.rep_id, e.currency), (0, Decimal(0)))
        sums[(e.rep_id, e.currency)] = (count + 1, total + Decimal(e.fine))
    return [(rep, count, total, currency) for (rep, currency), (count, total) in sorted(sums.items())]
