"""Sales channels (销售渠道): /v1/customers/{id}/partner-profile and /v1/partners (channel partners
are customer accounts; customers service). Channel and partner performance is
/v1/analytics/channels (routes/analytics.py); opportunities and contracts carry `channel` and
`partner_id` in their own routes."""

from __future__ import annotations

from salesgrid.customers.v1 import partners_pb2 as pb
from salesgrid_common.channels import PARTNER_CHANNELS, PARTNER_TIERS
from salesgrid_gateway.rest.schema import hint
from salesgrid_gateway.rest.table import Service

api = Service(pb, "ChannelPartners", "customers_addr", tag="customers")
hint(
    "salesgrid.customers.v1.SetPartnerProfileRequest",
    channel={"enum": ["", *PARTNER_CHANNELS]},
    tier={"enum": list(PARTNER_TIERS)},
)
hint(
    "salesgrid.customers.v1.ListPartnersRequest",
    channel={"enum": list(PARTNER_CHANNELS)},
    tier={"enum": list(PARTNER_TIERS)},
)

ROUTES = [
    api.put(
        "/v1/customers/{customer_id}/partner-profile",
        "SetPartnerProfile",
        "Make an account a channel partner "
        "(agent or distributor) with its partner tier and partner agreement (a contract of the account), or "
        "end the partnership with an empty channel",
        if_match="required",
    ),
    api.get(
        "/v1/partners",
        "ListPartners",
        "Channel partners in the caller's customer scope (cursor paging)",
        items="customers",
    ),
]
