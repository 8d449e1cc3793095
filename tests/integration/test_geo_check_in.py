"""Visit check-in across services: a customer's address coordinates, entered in customers,
reach activities by event; a rep checking in at the door is not flagged, one 2 km away is."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from salesgrid_dev.api import auth, org_unit, person, poll, root_unit


def test_check_in_distance_uses_the_customers_address(api: httpx.Client, admin_token: str) -> None:
    tag = uuid.uuid4().hex[:8]
    team = org_unit(
        api, admin_token, root_unit(api, admin_token)["id"], f"Geo team {tag}", kind="team", time_zone="Asia/Shanghai"
    )
    _, rep = person(api, admin_token, team["id"], f"geo.rep.{tag}", "rep")
    created = api.post(
        "/v1/customers",
        headers=auth(rep),
        json={
            "legal_name": f"上海外滩{tag}贸易有限公司",
            "address": {"text": "中山东一路 1 号", "latitude": 31.2400, "longitude": 121.4900},
        },
    )
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")

    def check_in(latitude: float) -> dict:  # type: ignore[type-arg]
        reply = api.post(
            "/v1/check-ins",
            headers=auth(rep),
            json={
                "customer_id": customer_id,
                "reading": {"latitude": latitude, "longitude": 121.4900, "accuracy_m": 10, "device_time": now},
            },
        )
        assert reply.status_code == 201, reply.text
        visit = reply.json()
        api.post(
            f"/v1/check-ins/{visit['id']}/check-out",
            headers=auth(rep),
            json={"reading": {"latitude": latitude, "longitude": 121.4900, "accuracy_m": 10, "device_time": now}},
        )
        return dict(visit)

    # The coordinates travel customers → NATS → activities; until then a check-in has no reference.
    at_door = poll(lambda: _unflagged(check_in(31.2404)), timeout=20)
    assert 40 < at_door["check_in"]["distance_m"] < 50
    away = check_in(31.2580)
    assert away["flagged"] and away["check_in"]["flags"] == ["too_far"]
    assert 1900 < away["check_in"]["distance_m"] < 2100


def _unflagged(visit: dict) -> dict | None:  # type: ignore[type-arg]
    return visit if not visit["flagged"] else None
