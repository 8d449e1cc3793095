"""Announcements and spot checks through the real gateway app to the running activities service:
JSON in and out, problem+json naming the field, scope refusals, and the OpenAPI description."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from salesgrid_activities.app import DEFINITION, MIGRATIONS
from salesgrid_activities.models import SpotCheckRow
from salesgrid_common.clock import FakeClock
from salesgrid_dev.directory_seed import add_unit, add_user, replica
from salesgrid_dev.testing import principal, run_service, stand_in_identity
from salesgrid_dev.gateway_client import test_client
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


async def test_announcement_and_spot_check_routes(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    async with (
        stand_in_identity(test_keys) as identity_addr,
        run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=FakeClock(NOW)) as running,
    ):
        async with replica(running) as session:
            await add_unit(session, "b1", "/c/b1/", at=NOW)
            await add_unit(session, "b2", "/c/b2/", at=NOW)
            for user_id in ("mgr", "rep-a", "adm"):
                await add_user(session, user_id, "/c/b1/", at=NOW)
            session.add(
                SpotCheckRow(
                    id="sc-1",
                    follow_up_id="fu-1",
                    week="2026-W10",
                    owner_id="rep-a",
                    org_path="/c/b1/",
                    verifier_id="adm",
                    verdict="pending",
                    note="",
                    assigned_at=NOW,
                    version=1,
                )
            )
        client = test_client(
            create_app(
                GatewaySettings(environment="test", identity_addr=identity_addr, activities_addr=running.address)
            )
        )

        def as_(user: str, perms: dict[str, str]) -> dict[str, str]:
            return {"Authorization": f"Bearer {test_keys.token(principal(user, '/c/b1/', permissions=perms))}"}

        mgr = as_("mgr", {"announcements:publish": "subtree", "activities:read": "subtree"})
        rep = as_("rep-a", {"activities:read": "own"})
        adm = as_("adm", {"spot_checks:verify": "subtree", "activities:read": "subtree"})

        def call(method: str, path: str, headers: dict[str, str], body: dict | None = None):  # type: ignore[no-untyped-def]
            return asyncio.to_thread(getattr(client, method), path, json=body, headers=headers)

        bad = await call("post", "/v1/announcements", mgr, {"unit_id": "b1", "title": " ", "body": "x"})
        assert bad.status_code == 400 and [e["field"] for e in bad.get_json()["errors"]] == ["title"]
        elsewhere = await call("post", "/v1/announcements", mgr, {"unit_id": "b2", "title": "t", "body": "b"})
        assert elsewhere.status_code == 403 and elsewhere.mimetype == "application/problem+json"
        created = await call("post", "/v1/announcements", mgr, {"unit_id": "b1", "title": "通知", "body": "内容"})
        assert created.status_code == 201, created.get_json()
        announcement = created.get_json()
        assert announcement["recipients"] == 3
        read = await call("post", f"/v1/announcements/{announcement['id']}/read", rep)
        assert read.get_json()["read"] is True
        mine = (await call("get", "/v1/announcements?mine=true", rep)).get_json()["items"]
        assert [(a["title"], a["read"]) for a in mine] == [("通知", True)]
        receipts = (await call("get", f"/v1/announcements/{announcement['id']}/receipts", mgr)).get_json()
        assert (receipts["recipients"], receipts["read"], receipts["unread"]) == (3, 1, 2)
        assert (await call("get", f"/v1/announcements/{announcement['id']}/receipts", rep)).status_code == 403

        no_note = await call("post", "/v1/spot-checks/sc-1/verdict", adm, {"verdict": "false"})
        assert no_note.status_code == 400 and [e["field"] for e in no_note.get_json()["errors"]] == ["note"]
        found = await call(
            "post", "/v1/spot-checks/sc-1/verdict", adm, {"verdict": "false", "note": "虚报", "version": 1}
        )
        assert found.status_code == 200 and (found.get_json()["fine"], found.get_json()["currency"]) == ("50.00", "CNY")
        queue = (await call("get", "/v1/spot-checks?mine=true", adm)).get_json()["items"]
        assert [(c["id"], c["verdict"]) for c in queue] == [("sc-1", "false")]
        ledger = (await call("get", "/v1/falsification-ledger?from=2026-03-01", mgr)).get_json()
        assert [(r["rep_id"], r["count"], r["total"]) for r in ledger["reps"]] == [("rep-a", 1, "50.00")]
        assert (await call("get", "/v1/falsification-ledger?from=March", mgr)).status_code == 400

        paths = (await asyncio.to_thread(client.get, "/openapi.json")).get_json()["paths"]
        for path in (
            "/v1/announcements",
            "/v1/announcements/{announcement_id}/receipts",
            "/v1/spot-checks/{spot_check_id}/verdict",
            "/v1/falsification-ledger",
        ):
            assert path in paths, path
