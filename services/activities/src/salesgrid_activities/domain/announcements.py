"""Announcements (新闻公告发布): administrators and managers publish to an org unit and its subtree.

The audience is fixed when the announcement is published: every active person whose unit is the
target unit or below it. Each of them gets it in his inbox and has his own read receipt; the
publisher (and whoever may publish over the target unit) sees how many have read it, and who.
A publisher reaches only units within his own publish scope (a manager: his subtree)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from dataclasses import dataclass

from ._validation import Violations
from .errors import PermissionDenied, ValidationFailed

MAX_TITLE = 200
MAX_BODY = 20000
MAX_AUDIENCE = 20000


@dataclass(frozen=True)
class Draft:
    title: str
    body: str
    unit_id: str


def check_draft(title: str, body: str, unit_id: str) -> Draft:
    v = Violations()
    clean_title = v.text(title, "title", max_length=MAX_TITLE, required=True)
    clean_body = v.text(body, "body", max_length=MAX_BODY, required=True)
    unit = v.text(unit_id, "unit_id", max_length=36, required=True)
    v.raise_if_any()
    assert clean_title and clean_body and unit
    return Draft(clean_title, clean_body, unit)


def check_target(may_publish_there: bool, unit_known: bool) -> None:
    """The target unit must exist (in the directory replica) and lie within the publisher's scope."""
    if not unit_known:
        raise ValidationFailed("is not a known org unit", "unit_id")
    if not may_publish_there:
        raise PermissionDenied("announcements:publish does not cover this unit")


def audience(unit_path: str, people: Iterable[tuple[str, str, bool]]) -> list[str]:
    """Who receives an announcement to the unit at unit_path: active people in it or below,
    from (user id, org path, active) triples; sorted, each once."""
    chosen = sorted({user_id for user_id, path, active in people if active and path.startswith(unit_path)})
    if len(chosen) > MAX_AUDIENCE:
        raise ValidationFailed(f"reaches more than {MAX_AUDIENCE} people; choose a smaller unit", "unit_id")
    return chosen


@dataclass(frozen=True)
class ReadCounts:
    recipients: int
    read: int

    @property
    def unread(self) -> int:
        return self.recipients - self.read


def read_counts(read_flags: Iterable[bool]) -> ReadCounts:
    flags = list(read_flags)
    return ReadCounts(len(flags), sum(1 for f in flags if f))


@dataclass(frozen=True)
class Announcement:
    """A published announcement; `org_path` is the target unit's path, `recipients` the audience's size."""

    id: str
    publisher_id: str
    unit_id: str
    org_path: str
    title: str
    body: str
    recipients: int
    published_at: datetime


@dataclass(frozen=True)
class Receipt:
    """One recipient's read receipt (read_at None: unread)."""

    announcement_id: str
    user_id: str
    read_at: datetime | None = None
