"""A refusal's specific reason and its values travel in google.rpc.ErrorInfo; the kind of refusal
(the class's reason) rides along so that the gateway keeps the problem `type` generic."""

from datetime import datetime
from decimal import Decimal

import pytest
from google.rpc import error_details_pb2

from salesgrid_common.errors import CATEGORY_KEY, Conflict, FailedPrecondition, ValidationFailed
from salesgrid_common.grpc_server import status_for
from salesgrid_common.validation import (
    INVALID_FORMAT,
    OUT_OF_RANGE,
    REQUIRED,
    TOO_LONG,
    Violations,
    check_decimal,
    require_text,
    violation_code,
)


def error_info(error: Exception) -> error_details_pb2.ErrorInfo:
    assert isinstance(error, (Conflict, FailedPrecondition, ValidationFailed))
    for detail in status_for(error).details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    raise AssertionError("no ErrorInfo")


def test_a_specific_reason_is_packed_with_its_values_and_category() -> None:
    error = FailedPrecondition("over", "max_claims_per_day", reason="POOL_DAILY_CLAIMS", info={"cap": "2"})
    info = error_info(error)
    assert info.reason == "POOL_DAILY_CLAIMS"
    assert dict(info.metadata) == {"cap": "2", CATEGORY_KEY: "FAILED_PRECONDITION"}
    assert status_for(error).code == 9  # FAILED_PRECONDITION: the status stays the class's


def test_the_class_reason_is_the_default_and_sends_no_category() -> None:
    info = error_info(Conflict("changed", "version"))
    assert (info.reason, dict(info.metadata)) == ("CONFLICT", {})


def test_stale_version_and_many_violations_carry_a_reason() -> None:
    stale = Conflict.stale_version("changed", "version", current=4, sent=3)
    assert status_for(stale).code == 10  # ABORTED
    assert error_info(stale).reason == "STALE_VERSION"
    assert dict(error_info(stale).metadata)["current_version"] == "4"
    many = ValidationFailed.many([("a", "x"), ("b", "y")], reason="SOME_RULE", info={"n": "2"})
    assert (many.reason, many.category, many.info, many.violations) == (
        "SOME_RULE",
        "VALIDATION_FAILED",
        {"n": "2"},
        [("a", "x"), ("b", "y")],
    )


def field_reasons(error: ValidationFailed) -> list[tuple[str, str]]:
    for detail in status_for(error).details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            return [(v.field, v.reason) for v in bad.field_violations]
    raise AssertionError("no BadRequest")


def test_the_common_field_checks_send_their_codes() -> None:
    checks = Violations()
    checks.text(None, "legal_name", max_length=10, required=True)
    checks.text("x" * 11, "title", max_length=10, required=True)
    checks.instant(datetime(2026, 1, 1), "occurred_at")  # naive
    checks.add("tier", "is not a tier")  # a service's own check: no code
    items = checks.items + check_decimal(Decimal(-1), "amount")
    assert [violation_code(m) for _, m in items] == [REQUIRED, TOO_LONG, INVALID_FORMAT, "", OUT_OF_RANGE]
    error = ValidationFailed.many(items)
    assert field_reasons(error) == [
        ("legal_name", "REQUIRED"),
        ("title", "TOO_LONG"),
        ("occurred_at", "INVALID_FORMAT"),
        ("tier", ""),
        ("amount", "OUT_OF_RANGE"),
    ]
    assert error.violations[0] == ("legal_name", "is required")  # still the plain message
    with pytest.raises(ValidationFailed) as single:
        require_text("  ", "name")
    assert field_reasons(single.value) == [("name", "REQUIRED")]
