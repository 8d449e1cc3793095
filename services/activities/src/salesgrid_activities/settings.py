"""Activities settings: the common ones plus the pace of the weekly spot-check draw."""

from __future__ import annotations

from pydantic import Field

from salesgrid_common.settings import ServiceSettings


class ActivitiesSettings(ServiceSettings):
    # How often reps' ended weeks are looked for (SALESGRID_SPOT_CHECK_SECONDS; each week is drawn
    # once, so a shorter pace only draws sooner, e.g. for a demo or a test platform).
    spot_check_seconds: float = Field(default=300.0, gt=0)
