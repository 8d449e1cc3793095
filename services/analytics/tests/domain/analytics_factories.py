"""Builders for analytics domain tests: facts with sensible defaults and unique event ids."""

from __future__ import annotations

import itertools
from datetime import date, datetime, UTC
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from salesgrid_analytics.domain import facts as f
from salesgrid_analytics.domain.stages import LOST, WON, Stage, StageModel

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = UTC
_ids = itertools.count(1)

REP_A = ("rep-a", "/acme/east/sh/t1")
REP_B = ("rep-b", "/acme/east/sh/t2")
REP_C = ("rep-c", "/acme/west/cd/t1")


# Test data: a model as pipeline publishes its built-in default (stage_model.published, version 0).
DEFAULT = StageModel(
    "default",
    0,
    (
        Stage("lead", 5),
        Stage("opportunity", 10),
        Stage("approval", 25),
        Stage("formal_communication", 40),
        Stage("bidding", 60),
        Stage("result", 80),
        Stage("won", 100, WON),
        Stage("lost", 0, LOST),
    ),
)
# A business line's own model, with codes of its own.
CUSTOM = StageModel(
    "retail", 3, (Stage("contact", 20), Stage("demo", 50), Stage("closed_won", 100, WON), Stage("closed_lost", 0, LOST))
)
MODELS = {m.code: m for m in (DEFAULT, CUSTOM)}


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A Shanghai local time, the zone every test report uses."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def _base(owner: tuple[str, str], when: datetime, event_id: str | None) -> dict[str, Any]:
    return {
        "event_id": event_id or f"evt-{next(_ids):06d}",
        "occurred_at": when,
        "owner_id": owner[0],
        "org_path": owner[1],
    }


def created(
    opp: str,
    when: datetime,
    owner: tuple[str, str] = REP_A,
    stage: str = "opportunity",
    amount: str = "1000.00",
    currency: str = "CNY",
    close: date = date(2026, 6, 15),
    event_id: str | None = None,
    model: str = "default",
    probability: int | None = None,
) -> f.OpportunityCreated:
    return f.OpportunityCreated(
        **_base(owner, when, event_id),
        opportunity_id=opp,
        stage=stage,
        amount=Decimal(amount),
        currency=currency,
        expected_close=close,
        stage_model=model,
        probability=probability,
    )


def moved(
    opp: str,
    frm: str,
    to: str,
    when: datetime,
    owner: tuple[str, str] = REP_A,
    event_id: str | None = None,
    model: str = "default",
) -> f.StageChanged:
    return f.StageChanged(
        **_base(owner, when, event_id), opportunity_id=opp, from_stage=frm, to_stage=to, stage_model=model
    )


def won(opp: str, when: datetime, owner: tuple[str, str] = REP_A) -> f.OpportunityWon:
    return f.OpportunityWon(**_base(owner, when, None), opportunity_id=opp)


def lost(opp: str, when: datetime, owner: tuple[str, str] = REP_A) -> f.OpportunityLost:
    return f.OpportunityLost(**_base(owner, when, None), opportunity_id=opp)


def signed(
    contract: str, amount: str, when: datetime, owner: tuple[str, str] = REP_A, currency: str = "CNY"
) -> f.ContractSigned:
    return f.ContractSigned(**_base(owner, when, None), contract_id=contract, amount=Decimal(amount), currency=currency)


def receipt(
    contract: str, amount: str, when: datetime, owner: tuple[str, str] = REP_A, currency: str = "CNY"
) -> f.ReceiptRecorded:
    return f.ReceiptRecorded(
        **_base(owner, when, None), contract_id=contract, amount=Decimal(amount), currency=currency
    )


def customer(when: datetime, owner: tuple[str, str] = REP_A) -> f.CustomerCreated:
    return f.CustomerCreated(**_base(owner, when, None), customer_id=f"cust-{next(_ids)}")


def follow_up(when: datetime, owner: tuple[str, str] = REP_A) -> f.FollowUpLogged:
    return f.FollowUpLogged(**_base(owner, when, None), customer_id="cust-1")


def check_in(when: datetime, owner: tuple[str, str] = REP_A, flagged: bool = False) -> f.CheckInRecorded:
    return f.CheckInRecorded(**_base(owner, when, None), customer_id="cust-1", flagged=flagged)


def report(day: date, timing: f.ReportTiming, when: datetime, owner: tuple[str, str] = REP_A) -> f.DailyReportSubmitted:
    return f.DailyReportSubmitted(**_base(owner, when, None), report_date=day, timing=timing)


def missing(day: date, when: datetime, owner: tuple[str, str] = REP_A) -> f.DailyReportMissing:
    return f.DailyReportMissing(**_base(owner, when, None), report_date=day)


def falsified(day: date, when: datetime, owner: tuple[str, str] = REP_A) -> f.DailyReportFalsified:
    return f.DailyReportFalsified(**_base(owner, when, None), report_date=day)


def sla(opp: str, when: datetime, owner: tuple[str, str] = REP_A) -> f.SlaOverdue:
    return f.SlaOverdue(**_base(owner, when, None), opportunity_id=opp, stage="approval")


def gate(opp: str, when: datetime, owner: tuple[str, str] = REP_A) -> f.GateViolated:
    return f.GateViolated(**_base(owner, when, None), opportunity_id=opp, stage="bidding")
