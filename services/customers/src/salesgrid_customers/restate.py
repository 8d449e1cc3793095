"""`python -m salesgrid_customers restate-customers`: every customer's current state published
again, as `salesgrid.customers.customer.restated` (the `created`/`updated` payload, nothing
changed), so projections other services keep of customers learn the records they never saw:
customers created before a projection existed or before its service consumed this stream
(contracts' customer names for printed documents, issue 20 item 5), or imported straight into
the database. The data stays with the service that owns it; consumers apply a re-statement like
any state, newest version first (it carries the aggregate's next version), and partners never
receive it (salesgrid_common.events.catalogue.RESTATEMENTS).

Each batch is one transaction whose rows are locked while their events are recorded, so a
concurrent update either commits before (and is re-stated) or after (with a newer version)."""

from __future__ import annotations

import argparse
import asyncio

from sqlalchemy import bindparam, select

from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.events.outbox import Outbox, event_type_of
from salesgrid_common.cli import Command
from salesgrid_common.service import ServiceApp, ServiceDefinition
from salesgrid_common.settings import ServiceSettings

from salesgrid_customers.customer_events import customer_state
from salesgrid_customers.stores.customers import CUSTOMER_COLUMNS, CUSTOMERS, customer_from_record

RESTATED_VERB = "customer.restated"
RESTATED = event_type_of("customers", RESTATED_VERB)
BATCH = 500
# Core rows mapped straight into the domain record (no ORM instances), built once.
_BATCH = (
    select(*CUSTOMER_COLUMNS)
    .where(CUSTOMERS.c.id > bindparam("after"))
    .order_by(CUSTOMERS.c.id)
    .limit(bindparam("batch"))
    .with_for_update()
)


async def restate_customers(sessions: SessionFactory, outbox: Outbox, clock: Clock, batch: int = BATCH) -> int:
    """Record a re-statement of every customer (active or not: old contracts still name them),
    in id order, `batch` per transaction; returns how many."""
    after, total = "", 0
    while True:
        async with sessions() as session, session.begin():
            rows = (await session.execute(_BATCH, {"after": after, "batch": batch})).all()
            for customer in map(customer_from_record, rows):
                await outbox.record_by(
                    session,
                    RESTATED_VERB,
                    customer_state(customer),
                    None,
                    aggregate_id=customer.id,
                    org_path=customer.org_path,
                    occurred_at=clock(),
                )
        if not rows:
            return total
        after, total = rows[-1].id, total + len(rows)


def restate_command(definition: ServiceDefinition) -> Command:
    """The CLI command: the running service's relay publishes what this records."""

    def command(settings: ServiceSettings, options: argparse.Namespace) -> int:
        async def run() -> int:
            app = ServiceApp(definition, settings)  # not started: no gRPC server, no NATS
            try:
                return await restate_customers(app.ctx.sessions, app.ctx.outbox, app.ctx.clock)
            finally:
                await app.engine.dispose()
                if app.read_engine is not app.engine:
                    await app.read_engine.dispose()

        print(f"restated {asyncio.run(run())} customers")
        return 0

    return command
