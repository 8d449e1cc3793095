"""A refusal's specific reason and its values travel in google.rpc.ErrorInfo; the kind of refusal
(the class's reason) rides along so that the gateway keeps the problem `type` generic."""

from google.rpc import error_details_pb2

from salesgrid_common.errors import CATEGORY_KEY, Conflict, FailedPrecondition, ValidationFailed
from salesgrid_common.grpc_server import status_for


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
