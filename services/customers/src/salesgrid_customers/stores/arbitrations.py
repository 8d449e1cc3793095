"""The arbitration store: the one mapping of the domain Arbitration to its `customer_arbitrations`
row (written once as evidence and never read back by the service: no from_row)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_customers import models
from salesgrid_customers.domain.ownership import Arbitration


def arbitration_to_row(arbitration: Arbitration) -> dict[str, Any]:
    decision = arbitration.decision
    return {
        "id": arbitration.id,
        "customer_ids": list(arbitration.customer_ids),
        "rep_ids": list(arbitration.rep_ids),
        "registered_name": arbitration.registered_name,
        "winner_rep_id": decision.winner_rep_id,
        "winner_customer_id": decision.winner_customer_id,
        "rule": decision.rule.value,
        "reason": decision.reason,
        "steps": [
            {
                "rule": step.rule.value,
                "compared": {rep: value or "" for rep, value in step.compared},
                "remaining": list(step.remaining),
            }
            for step in decision.steps
        ],
        "decided_by": arbitration.decided_by,
        "decided_at": decision.decided_at,
    }


def insert_arbitration(session: AsyncSession, arbitration: Arbitration) -> None:
    session.add(models.Arbitration(**arbitration_to_row(arbitration)))
