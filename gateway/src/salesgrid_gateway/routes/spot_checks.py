"""/v1/spot-checks (每周抽查) and /v1/falsification-ledger (虚报), served by the activities service."""

from __future__ import annotations

from salesgrid.activities.v1 import spot_checks_pb2 as pb

from salesgrid_gateway.rest.schema import hint
from salesgrid_gateway.rest.table import Service

api = Service(pb, "SpotChecks", "activities_addr", tag="spot_checks")
hint("salesgrid.activities.v1.VerifySpotCheckRequest", verdict={"enum": ["true", "false"]})

ROUTES = [
    api.get(
        "/v1/spot-checks",
        "ListSpotChecks",
        "Weekly follow-up spot checks: mine=true the caller's queue, else "
        "those of reps in the caller's activities scope",
        items="spot_checks",
        rename={"mine": "assigned_to_me"},
    ),
    api.post(
        "/v1/spot-checks/{spot_check_id}/verdict",
        "VerifySpotCheck",
        "The assigned sales administrator finds "
        "the follow-up true or false (a note is required when false; the unit's falsified fine applies)",
        required=("verdict",),
    ),
    api.get(
        "/v1/falsification-ledger",
        "GetFalsificationLedger",
        "Falsifications (虚报) of reps in scope: "
        "follow-ups found false and daily reports marked falsified, with fines and per-rep totals",
        rename={"from": "from_date", "to": "to_date"},
    ),
]
