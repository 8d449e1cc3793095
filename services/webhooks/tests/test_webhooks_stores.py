"""The subscription and delivery-log stores: the mappers cover every column both ways, the scoped
load hides what the caller may not read, and a page of the log carries each delivery's attempts
(SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.tokens import principal_from_claims
from salesgrid_common.clock import FakeClock
from salesgrid_common.errors import Conflict, FailedPrecondition, NotFound, PermissionDenied
from salesgrid_webhooks.domain.subscriptions import OwnerScope, Subscription
from salesgrid_webhooks.models import AttemptRow, DeliveryRow, SubscriptionRow
from salesgrid_webhooks.stores import deliveries, subscriptions

from webhooks_fixtures import webhooks

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def subscription(sub_id: str = "sub-1", owner_id: str = "u1", org_path: str = "/c/a/") -> Subscription:
    return Subscription(
        id=sub_id,
        owner_id=owner_id,
        owner_kind="api_key",
        url="https://x.example.com/hook",
        description="crm sync",
        event_types=["salesgrid.customers.customer.*"],
        secret="sealed-1",
        created_at=NOW - timedelta(days=2),
        scope=OwnerScope(
            org_path=org_path,
            permissions={"customers:read": "unit"},
            roles=["rep"],
            responsible_id="u9",
            expires_at=NOW + timedelta(days=1),
        ),
        previous_secret="sealed-0",
        previous_secret_expires_at=NOW + timedelta(hours=1),
        enabled=False,
        disabled_reason="too many failures",
        failing_since=NOW - timedelta(days=1),
    )


def test_the_subscription_mapper_writes_every_column_and_reads_back_every_field() -> None:
    sub = subscription()
    values = subscriptions.subscription_to_row(sub)
    assert set(values) == set(SubscriptionRow.__table__.columns.keys())  # a new column must be mapped
    assert subscriptions.subscription_from_row(SubscriptionRow(**values)) == sub


def test_only_the_owners_change_refreshes_the_scope_and_an_expired_key_cannot_re_enable() -> None:
    sub = subscription()
    other = OwnerScope(org_path="/c/", permissions={}, roles=["admin"])
    sub.take_scope("admin-1", other)
    assert sub.scope.org_path == "/c/a/"
    sub.take_scope("u1", other)
    assert sub.scope == other and sub.scope.expires_at is None
    expired = subscription()
    with pytest.raises(FailedPrecondition):
        expired.set_enabled(True, NOW + timedelta(days=2))
    expired.set_enabled(True, NOW)
    assert (expired.enabled, expired.disabled_reason, expired.failing_since) == (True, "", None)


def reader(subject: str, org: str, scope: str = "own") -> Principal:
    return principal_from_claims(
        {"sub": subject, "org": org, "perms": {"webhooks:read": scope, "webhooks:create": "own"}}
    )


async def test_scoped_load_and_a_log_page_with_its_attempts(  # type: ignore[no-untyped-def]
    database_url: str, nats_url: str, test_keys
) -> None:
    async with webhooks(database_url, nats_url, test_keys, clock=FakeClock(NOW)) as running:
        sessions = running.app.ctx.sessions
        async with sessions() as session, session.begin():
            subscriptions.insert(session, subscription())
            await session.flush()
            for n in (1, 2, 3):
                session.add(
                    DeliveryRow(
                        id=f"d-{n}",
                        subscription_id="sub-1",
                        event_id=f"e-{n}",
                        event_type="salesgrid.customers.customer.created",
                        body="{}",
                        status="failed" if n == 2 else "succeeded",
                        attempts=n,
                        next_attempt_at=None,
                        last_status_code=500 if n == 2 else 200,
                        last_latency_ms=7,
                        last_error="",
                        created_at=NOW,
                        delivered_at=None,
                    )
                )
                await session.flush()
                for attempt in range(n, 0, -1):  # stored out of order: the page orders them
                    session.add(
                        AttemptRow(
                            id=f"a-{n}-{attempt}",
                            delivery_id=f"d-{n}",
                            attempt=attempt,
                            at=NOW,
                            status_code=200,
                            latency_ms=attempt,
                            error="",
                        )
                    )
        async with sessions() as session:
            owner = reader("u1", "/c/a/")
            assert await subscriptions.load_in_scope(session, owner, "sub-1", "read") == subscription()
            with pytest.raises(NotFound):
                await subscriptions.load_in_scope(session, reader("u2", "/c/b/"), "sub-1", "read")
            with pytest.raises(PermissionDenied):
                await subscriptions.load_in_scope(session, reader("u2", "/c/", "all"), "sub-1", "create")
            assert [s.id for s in await subscriptions.visible(session, owner)] == ["sub-1"]
            first = await deliveries.page(session, "sub-1", "", 2, "")
            assert [(d.id, [a.attempt for a in d.log]) for d in first.items] == [("d-3", [1, 2, 3]), ("d-2", [1, 2])]
            rest = await deliveries.page(session, "sub-1", "", 2, first.next_token)
            assert [(d.id, [a.attempt for a in d.log]) for d in rest.items] == [("d-1", [1])]
            assert [d.id for d in (await deliveries.page(session, "sub-1", "failed", 10, "")).items] == ["d-2"]
            with pytest.raises(NotFound):
                await deliveries.load(session, "sub-other", "d-1")


async def test_saves_are_versioned_and_a_stale_version_is_refused(  # type: ignore[no-untyped-def]
    database_url: str, nats_url: str, test_keys
) -> None:
    async with webhooks(database_url, nats_url, test_keys, clock=FakeClock(NOW)) as running:
        sessions = running.app.ctx.sessions
        owner = reader("u1", "/c/a/")
        async with sessions() as session, session.begin():
            subscriptions.insert(session, subscription())
        async with sessions() as session, session.begin():
            sub = await subscriptions.load_in_scope(session, owner, "sub-1", "create", lock=True, expected_version=1)
            sub.description = "erp sync"
            saved = await subscriptions.save(session, sub)
        assert (saved.version, saved.description) == (2, "erp sync")
        async with sessions() as session, session.begin():
            with pytest.raises(Conflict) as stale:
                await subscriptions.load_in_scope(session, owner, "sub-1", "create", lock=True, expected_version=1)
        assert stale.value.reason == "STALE_VERSION" and stale.value.info == {
            "current_version": "2",
            "sent_version": "1",
        }
        # A copy loaded before another change was saved is refused too, and writes nothing.
        async with sessions() as session:
            old = await subscriptions.load_in_scope(session, owner, "sub-1", "read")
        old.description = "lost update"
        async with sessions() as session, session.begin():
            current = await subscriptions.load_in_scope(session, owner, "sub-1", "create", lock=True)
            await subscriptions.save(session, current)
        async with sessions() as session, session.begin():
            await subscriptions.load_in_scope(session, owner, "sub-1", "create", lock=True)
            with pytest.raises(Conflict) as lost:
                await subscriptions.save(session, old)
        assert lost.value.reason == "STALE_VERSION"
        async with sessions() as session:
            kept = await subscriptions.load_in_scope(session, owner, "sub-1", "read")
        assert (kept.version, kept.description) == (3, "erp sync")
