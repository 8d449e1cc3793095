"""/v1/pool/standing: the public-pool policy in force for the caller and where he stands under it
(caps left, cool-downs), so a rep sees them before he claims (customers service)."""

from __future__ import annotations

from salesgrid.customers.v1 import pool_standing_pb2 as pb

from salesgrid_gateway.rest.table import Service

api = Service(pb, "PoolStanding", "customers_addr", tag="customers")

ROUTES = [
    api.get(
        "/v1/pool/standing",
        "GetMyPoolStanding",
        "The public-pool policy in force for the caller (his unit's "
        "or the nearest ancestor's), his customers held and claims today against its caps (customers_left, "
        "claims_left_today absent: no cap), and the pool customers he released that he may not claim back "
        "yet (pool:read; only about the caller)",
    ),
]
