"""A webhook subscription disabled after failing for days reaches its owner's inbox through
activities' consumer of the webhooks stream (SQLite and PostgreSQL); a partner key's reaches the
person who created the key, or, when he is gone, the administrators over the key's unit."""

from __future__ import annotations


from salesgrid.activities.v1 import inbox_pb2 as pb
from salesgrid.activities.v1 import inbox_pb2_grpc as pb_grpc
from salesgrid.events.v1.webhooks_events_pb2 import WebhookSubscriptionDisabled
from salesgrid_activities.handlers_inbox import webhooks_notices
from salesgrid_activities.models import InboxItemRow
from sqlalchemy import select
from salesgrid_dev.directory_seed import add_user, replica
from salesgrid_dev.testing import RunningService, bearer, principal

from activities_inbox_fixtures import START, TEAM, deliver_to, inbox_service, reader

SUB = webhooks_notices()
TYPE = "salesgrid.webhooks.subscription.disabled"


async def deliver(running: RunningService, payload: WebhookSubscriptionDisabled, org_path: str = TEAM) -> None:
    await deliver_to(running, SUB, TYPE, payload, START, aggregate_id=payload.subscription_id, org_path=org_path)


async def test_a_disabled_webhook_reaches_its_owners_inbox(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    async with inbox_service(database_url, nats_url, test_keys) as (running, stub):
        await deliver(
            running,
            WebhookSubscriptionDisabled(
                subscription_id="wh-1",
                owner_id="rep-a",
                owner_kind="user",
                url="https://erp.example.com/hook",
                reason="failing",
            ),
        )
        await deliver(
            running,
            WebhookSubscriptionDisabled(
                subscription_id="wh-2", owner_id="key-1", owner_kind="api_key", url="https://x", reason="failing"
            ),
        )
        rep = reader(test_keys, "rep-a")
        items = (await stub.ListInbox(pb.ListInboxRequest(), metadata=rep)).items
        assert [(i.kind, i.record.type, i.record.id) for i in items] == [
            ("webhook_disabled", "webhook_subscription", "wh-1")
        ]
        key = bearer(test_keys.token(principal("key-1", TEAM, permissions={"activities:read": "own"}, kind="api_key")))
        assert list((await stub.ListInbox(pb.ListInboxRequest(), metadata=key)).items) == []


BRANCH = "/c/r1/b1/"
PEOPLE = (  # user id, unit path, roles, active
    ("creator", TEAM, "manager", True),
    ("gone", TEAM, "manager", False),
    ("branch-admin", BRANCH, "admin", True),
    ("branch-admin-2", BRANCH, "rep,admin", True),
    ("head-admin", "/c/", "admin", True),
    ("other-admin", "/c/r2/", "admin", True),
    ("idle-admin", BRANCH, "admin", False),
)


async def inbox_of(stub: pb_grpc.InboxStub, keys, user_id: str, path: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    token = reader(keys, user_id, path)
    return sorted((i.kind, i.record.id) for i in (await stub.ListInbox(pb.ListInboxRequest(), metadata=token)).items)


async def test_an_api_keys_disabled_webhook_reaches_whoever_answers_for_the_key(  # type: ignore[no-untyped-def]
    database_url: str, nats_url: str, test_keys
) -> None:
    async with inbox_service(database_url, nats_url, test_keys) as (running, stub):
        async with replica(running) as session:
            for user_id, path, roles, active in PEOPLE:
                await add_user(session, user_id, path, unit_id="u", roles=roles, active=active, at=START)

        def disabled(sub_id: str, responsible: str) -> WebhookSubscriptionDisabled:
            return WebhookSubscriptionDisabled(
                subscription_id=sub_id,
                owner_id="key-1",
                owner_kind="api_key",
                url="https://erp.example.com/hook",
                reason="deliveries failed for 5.0 days",
                responsible_id=responsible,
            )

        await deliver(running, disabled("wh-creator", "creator"))  # its creator is active: he alone
        await deliver(running, disabled("wh-gone", "gone"))  # deactivated: the branch's administrators
        await deliver(running, disabled("wh-unknown", ""))  # a subscription from before: the same
        await deliver(running, disabled("wh-head", "gone"), org_path="/c/r3/")  # no branch admin: head office

        # Deactivated people cannot call (their tokens are refused), so the items are read from
        # the table; the active ones' inboxes through the API agree with it.
        async with running.app.ctx.sessions() as session:
            rows = (
                await session.execute(select(InboxItemRow.owner_id, InboxItemRow.kind, InboxItemRow.record_id))
            ).all()
        got = {
            user_id: sorted((kind, record) for owner, kind, record in rows if owner == user_id)
            for user_id, *_ in PEOPLE
        }
        for user_id, path, _, active in PEOPLE:
            if active:
                assert await inbox_of(stub, test_keys, user_id, path) == got[user_id]
        assert got == {
            "creator": [("webhook_disabled", "wh-creator")],
            "gone": [],
            "branch-admin": [("webhook_disabled", "wh-gone"), ("webhook_disabled", "wh-unknown")],
            "branch-admin-2": [("webhook_disabled", "wh-gone"), ("webhook_disabled", "wh-unknown")],
            "head-admin": [("webhook_disabled", "wh-head")],
            "other-admin": [],
            "idle-admin": [],
        }
        # The key itself has no inbox.
        assert await inbox_of(stub, test_keys, "key-1", TEAM) == []
