"""Optimistic concurrency of subscriptions through the RPCs (SQLite and PostgreSQL): every change
answers the next version; an update, rotation or delete sent with a stale expected_version is
refused (ABORTED, STALE_VERSION) and changes nothing; 0 skips the check; of two changes sent at
once at the same version one wins."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from salesgrid.webhooks.v1 import webhooks_pb2 as pb
from salesgrid.webhooks.v1 import webhooks_pb2_grpc as pb_grpc
from salesgrid_dev.testing import bearer, principal

from webhooks_fixtures import ADMIN, webhooks


def stale_info(error: grpc.aio.AioRpcError) -> dict[str, str]:
    assert error.code() == grpc.StatusCode.ABORTED
    status = status_pb2.Status.FromString(dict(error.trailing_metadata() or ())["grpc-status-details-bin"])
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            assert info.reason == "STALE_VERSION"
            return dict(info.metadata)
    raise AssertionError("no ErrorInfo")


async def test_changes_are_versioned_and_a_stale_version_is_refused(  # type: ignore[no-untyped-def]
    database_url: str, nats_url: str, test_keys
) -> None:
    async with webhooks(database_url, nats_url, test_keys, allow_http_endpoints=True) as running:
        stub = pb_grpc.WebhooksStub(running.channel)
        admin = bearer(test_keys.token(principal("admin-1", "/c/", permissions=ADMIN)))
        created = await stub.CreateSubscription(
            pb.CreateSubscriptionRequest(url="http://127.0.0.1:9/erp", event_types=["salesgrid.customers.customer.*"]),
            metadata=admin,
        )
        sub_id = created.subscription.id
        assert created.subscription.version == 1
        updated = await stub.UpdateSubscription(
            pb.UpdateSubscriptionRequest(id=sub_id, description="erp", expected_version=1), metadata=admin
        )
        assert (updated.version, updated.description) == (2, "erp")

        with pytest.raises(grpc.aio.AioRpcError) as stale:
            await stub.UpdateSubscription(
                pb.UpdateSubscriptionRequest(id=sub_id, description="lost", expected_version=1), metadata=admin
            )
        assert stale_info(stale.value) == {"problem_category": "CONFLICT", "current_version": "2", "sent_version": "1"}
        with pytest.raises(grpc.aio.AioRpcError) as stale:
            await stub.RotateSecret(pb.RotateSecretRequest(id=sub_id, expected_version=1), metadata=admin)
        assert stale_info(stale.value)["current_version"] == "2"
        got = await stub.GetSubscription(pb.GetSubscriptionRequest(id=sub_id), metadata=admin)
        assert (got.version, got.description, got.HasField("previous_secret_expires_at")) == (2, "erp", False)

        rotated = await stub.RotateSecret(pb.RotateSecretRequest(id=sub_id, expected_version=2), metadata=admin)
        assert rotated.subscription.version == 3
        unchecked = await stub.UpdateSubscription(
            pb.UpdateSubscriptionRequest(id=sub_id, enabled=False), metadata=admin
        )
        assert unchecked.version == 4 and not unchecked.enabled  # 0: no check, still a new version
        with pytest.raises(grpc.aio.AioRpcError) as stale:
            await stub.DeleteSubscription(pb.DeleteSubscriptionRequest(id=sub_id, expected_version=3), metadata=admin)
        assert stale_info(stale.value)["sent_version"] == "3"
        assert (await stub.GetSubscription(pb.GetSubscriptionRequest(id=sub_id), metadata=admin)).version == 4
        # Two changes sent at once at the same version: one wins, the other is refused (the load locks).
        racing = await asyncio.gather(
            *(
                stub.UpdateSubscription(
                    pb.UpdateSubscriptionRequest(id=sub_id, description=text, expected_version=4), metadata=admin
                )
                for text in ("first", "second")
            ),
            return_exceptions=True,
        )
        won = [r for r in racing if isinstance(r, pb.Subscription)]
        lost = [r for r in racing if isinstance(r, grpc.aio.AioRpcError)]
        assert len(won) == 1 and won[0].version == 5 and len(lost) == 1
        assert stale_info(lost[0]) == {"problem_category": "CONFLICT", "current_version": "5", "sent_version": "4"}
        deleted = await stub.DeleteSubscription(
            pb.DeleteSubscriptionRequest(id=sub_id, expected_version=5), metadata=admin
        )
        assert deleted.version == 6
