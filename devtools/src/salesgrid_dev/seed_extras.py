"""The demo book's expenses and announcements (see seed_book), through the public API under each
person's own token: every rep files an expense claim for yesterday's customer visit (a train ticket
and a client lunch, each with its receipt) and submits it; every other claim is approved by the
rep's superior, so approvers find claims waiting and reps find settled ones; every person leading
others publishes an announcement to his unit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from salesgrid_dev.seed_contracts import Person, auth, retry

# The service checks a receipt's type by its first bytes: a tiny stand-in image.
RECEIPT_PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


def expense_claim(client: httpx.Client, rep: Person, approver: Person | None, approve: bool) -> int:
    """1 when the rep's claim was filed and submitted (approved too when `approve`), else 0."""
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    customer: dict[str, Any] = rep.customers[0] if rep.customers else {}
    line = {"spent_on": yesterday, "customer_id": customer.get("id", "")}
    body = {
        "title": "客户拜访费用 / customer visit",
        "currency": rep.currency,
        "lines": [
            {**line, "category": "travel", "amount": "120.00", "description": "高铁 / train"},
            {**line, "category": "entertainment", "amount": "95.00", "description": "客户午餐 / client lunch"},
        ],
    }
    filed = retry(lambda: client.post("/v1/expense-claims", headers=auth(rep), json=body))
    if filed.status_code != 201:
        return 0
    claim_id = filed.json()["id"]
    for line_no in (1, 2):
        client.post(
            f"/v1/expense-claims/{claim_id}/lines/{line_no}/receipts",
            params={"file_name": f"receipt-{line_no}.png"},
            content=RECEIPT_PNG + bytes([line_no]),  # a file is attached to a claim once
            headers={**auth(rep), "Content-Type": "image/png"},
        )
    if retry(lambda: client.post(f"/v1/expense-claims/{claim_id}/submit", headers=auth(rep))).status_code != 200:
        return 0
    if approve and approver is not None:
        retry(lambda: client.post(f"/v1/expense-claims/{claim_id}/approve", headers=auth(approver), json={}))
    return 1


def announcement(client: httpx.Client, leader: Person) -> int:
    reply = retry(
        lambda: client.post(
            "/v1/announcements",
            headers=auth(leader),
            json={
                "unit_id": leader.unit_id,
                "title": "本周例会 / This week's sales meeting",
                "body": "周五下午三点，复盘本月漏斗与回款。 Friday 3 pm: this month's funnel and collections.",
            },
        )
    )
    return 1 if reply.status_code == 201 else 0
