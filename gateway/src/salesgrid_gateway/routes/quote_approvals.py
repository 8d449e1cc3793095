"""/v1/quotes/{id}/discount-approval, /v1/quote-approvals and /v1/org-units/{id}/discount-policy:
special-discount approval (特批折扣) of quotes, and the units' thresholds (pipeline service)."""

from __future__ import annotations

from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid_gateway.rest.table import Service

api = Service(pb, "QuoteApprovals", "pipeline_addr", tag="pipeline")

ROUTES = [
    api.post(
        "/v1/quotes/{quote_id}/discount-approval/approve",
        "DecideQuoteDiscount",
        "Approve the special discount (特批折扣) of a quote: the current approver's step (quotes:approve)",
        optional_body=True,
        fixed={"approve": True},
    ),
    api.post(
        "/v1/quotes/{quote_id}/discount-approval/reject",
        "DecideQuoteDiscount",
        "Reject the special discount of a quote (comment required); the quote cannot be accepted",
        optional_body=True,
        fixed={"approve": False},
    ),
    api.get(
        "/v1/quote-approvals",
        "ListPendingQuoteApprovals",
        "Quotes whose special discount waits on the caller's decision",
        items="quotes",
    ),
    api.get(
        "/v1/org-units/{org_unit_id}/discount-policy",
        "GetDiscountPolicy",
        "The special-discount thresholds in force for a unit (its own, inherited, or the default)",
    ),
    api.put(
        "/v1/org-units/{org_unit_id}/discount-policy",
        "SetDiscountPolicy",
        "Set a unit's special-discount thresholds (org_units:update); its subtree inherits them",
        required=("threshold_percent", "director_above_percent"),
    ),
]
