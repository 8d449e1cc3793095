"""Who answers for an API key: its active creator, else the nearest administrators over its unit."""

from __future__ import annotations

from salesgrid_activities.domain.answerable import Person, answerable_for_key

KEY_PATH = "/c/r1/b1/t1/"
ADMINS = [
    Person("head", "/c/", ("admin",), True),
    Person("branch", "/c/r1/b1/", ("rep", "admin"), True),
    Person("branch-2", "/c/r1/b1/", ("admin",), True),
    Person("sibling", "/c/r1/b2/", ("admin",), True),
    Person("not-admin", "/c/r1/b1/t1/", ("manager",), True),
    Person("retired", "/c/r1/b1/t1/", ("admin",), False),
]


def test_the_active_creator_answers_alone() -> None:
    creator = Person("creator", KEY_PATH, ("manager",), True)
    assert answerable_for_key(creator, KEY_PATH, ADMINS) == ["creator"]


def test_without_an_active_creator_the_nearest_administrators_over_the_unit_answer() -> None:
    gone = Person("creator", KEY_PATH, ("manager",), False)
    assert answerable_for_key(gone, KEY_PATH, ADMINS) == ["branch", "branch-2"]
    assert answerable_for_key(None, KEY_PATH, ADMINS) == ["branch", "branch-2"]
    assert answerable_for_key(None, "/c/r2/", ADMINS) == ["head"]


def test_nobody_over_the_unit_means_nobody() -> None:
    assert answerable_for_key(None, "/c/r1/b1/t1/", [ADMINS[3]]) == []
    assert answerable_for_key(None, "", ADMINS) == []
