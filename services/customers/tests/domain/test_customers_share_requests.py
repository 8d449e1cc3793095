"""Share request rules as plain Python."""

from __future__ import annotations

import pytest

from salesgrid_customers.domain import share_requests as rules
from salesgrid_customers.domain.errors import AlreadyExists, FailedPrecondition, ValidationFailed
from salesgrid_customers.domain.sharing import Share, ShareRole


def check(**overrides: object) -> ShareRole:
    args: dict[str, object] = {
        "requester_id": "rep-b",
        "owner_id": "rep-a",
        "shares": (),
        "role": "",
        "message": "",
        "already_pending": False,
    }
    return rules.check_request(**{**args, **overrides})  # type: ignore[arg-type]


def test_a_rep_asks_for_collaboration_by_default_or_for_co_ownership() -> None:
    assert check() is ShareRole.COLLABORATOR
    assert check(role="co_owner") is ShareRole.CO_OWNER
    # A collaborator may still ask to become co-owner.
    assert check(role="co_owner", shares=(Share("rep-b", ShareRole.COLLABORATOR),)) is ShareRole.CO_OWNER


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        ({"role": "boss"}, ValidationFailed, "role"),
        ({"message": "x" * 501}, ValidationFailed, "message"),
        ({"owner_id": None}, FailedPrecondition, "customer_id"),
        ({"requester_id": "rep-a"}, FailedPrecondition, "customer_id"),
        ({"shares": (Share("rep-b", ShareRole.CO_OWNER),)}, FailedPrecondition, "customer_id"),
        ({"shares": (Share("rep-b", ShareRole.COLLABORATOR),)}, FailedPrecondition, "customer_id"),
        ({"already_pending": True}, AlreadyExists, "customer_id"),
    ],
)
def test_requests_that_make_no_sense_are_refused(overrides: dict, error: type, field: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(error) as raised:
        check(**overrides)
    assert raised.value.field == field


def test_a_decision_is_final_and_boxes_and_statuses_are_checked() -> None:
    rules.check_decision("pending", "")
    for status in ("accepted", "declined"):
        with pytest.raises(FailedPrecondition):
            rules.check_decision(status, "")
    with pytest.raises(ValidationFailed):
        rules.check_decision("pending", "n" * 501)
    assert rules.parse_box("") is rules.Box.INCOMING and rules.parse_status("") is None
    with pytest.raises(ValidationFailed):
        rules.parse_box("sideways")
    with pytest.raises(ValidationFailed):
        rules.parse_status("maybe")


def test_a_blocking_duplicate_names_the_owner_and_his_unit() -> None:
    from salesgrid_customers.domain.dedup import DuplicateMatch, DuplicateReport, MatchReason, OwnerInfo
    from salesgrid_customers.domain.errors import Conflict

    match = DuplicateMatch("c-1", "华为技术有限公司", "rep-a", MatchReason.SAME_NORMALISED_NAME, 1.0)
    report = DuplicateReport((match,), ()).with_owners({"rep-a": OwnerInfo("王芳", "t1", "华东一组")})
    with pytest.raises(Conflict) as raised:
        report.raise_if_blocked()
    assert "owned by 王芳 (华东一组)" in raised.value.message and raised.value.field == "legal_name"
    assert raised.value.info == {
        "existing_customer_id": "c-1",
        "existing_owner_id": "rep-a",
        "existing_owner_name": "王芳",
        "existing_owner_unit_id": "t1",
        "existing_owner_unit": "华东一组",
    }
    unknown = DuplicateReport((match,), ()).with_owners({})  # owner not replicated yet: his id at least
    with pytest.raises(Conflict) as raised:
        unknown.raise_if_blocked()
    assert "owned by rep-a" in raised.value.message and "existing_owner_name" not in raised.value.info
