"""Announcements: the draft, the target within scope, the audience of a unit's subtree, receipts."""

from __future__ import annotations

import pytest

from salesgrid_activities.domain import announcements
from salesgrid_activities.domain.errors import PermissionDenied, ValidationFailed


def test_a_draft_names_every_missing_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        announcements.check_draft(" ", "", "")
    assert sorted(v[0] for v in caught.value.violations) == ["body", "title", "unit_id"]
    assert announcements.check_draft(" 五一放假通知 ", "5月1日至5日放假。", "u-1").title == "五一放假通知"


def test_the_target_must_be_known_and_within_scope() -> None:
    with pytest.raises(ValidationFailed):
        announcements.check_target(False, unit_known=False)
    with pytest.raises(PermissionDenied):
        announcements.check_target(False, unit_known=True)
    announcements.check_target(True, unit_known=True)


def test_the_audience_is_the_active_people_of_the_subtree() -> None:
    people = [
        ("a", "/c/r1/b1/", True),
        ("b", "/c/r1/b1/t1/", True),
        ("c", "/c/r1/b1/t1/", False),
        ("d", "/c/r1/b10/", True),
        ("e", "/c/r1/", True),
        ("b", "/c/r1/b1/t1/", True),
    ]
    assert announcements.audience("/c/r1/b1/", people) == ["a", "b"]


def test_read_counts() -> None:
    counts = announcements.read_counts([True, False, True])
    assert (counts.recipients, counts.read, counts.unread) == (3, 2, 1)
