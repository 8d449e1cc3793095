"""The activities service's own settings: the spot-check draw's pace (SALESGRID_SPOT_CHECK_SECONDS)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from salesgrid_activities.settings import ActivitiesSettings

REQUIRED = {
    "SALESGRID_SERVICE_NAME": "activities",
    "SALESGRID_ENVIRONMENT": "test",
    "SALESGRID_DATABASE_URL": "sqlite+aiosqlite://",
    "SALESGRID_NATS_URL": "nats://127.0.0.1:4222",
    "SALESGRID_GRPC_PORT": "50053",
    "SALESGRID_IDENTITY_ADDR": "127.0.0.1:50051",
}


@pytest.fixture(autouse=True)
def _service_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)


def test_the_spot_check_draw_runs_every_five_minutes_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SALESGRID_SPOT_CHECK_SECONDS", raising=False)
    assert ActivitiesSettings().spot_check_seconds == 300.0
    monkeypatch.setenv("SALESGRID_SPOT_CHECK_SECONDS", "3")
    assert ActivitiesSettings().spot_check_seconds == 3.0


@pytest.mark.parametrize("pace", ["0", "-1", "soon"])
def test_a_spot_check_pace_that_is_not_a_positive_number_is_refused(monkeypatch: pytest.MonkeyPatch, pace: str) -> None:
    monkeypatch.setenv("SALESGRID_SPOT_CHECK_SECONDS", pace)
    with pytest.raises(ValidationError, match="spot_check_seconds"):
        ActivitiesSettings()
