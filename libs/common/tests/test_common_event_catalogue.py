"""The bus's catalogue (salesgrid_common.events.catalogue) names every aggregate that is published:
each one the event messages document, each one a service's code records (full event types, and
the `<aggregate>.<verb>` names services pass to their event helpers), and the custom-field and
export aggregates of every service that registers them. A new event is never left out of the
catalogue (undeliverable by mistake, or worse, delivered without a permission guarding it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from salesgrid_common.events import catalogue

ROOT = Path(__file__).resolve().parents[3]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "src").is_dir())
# a full type, a pattern of types or a prefix ("salesgrid.customers.customer." + verb)
FULL_TYPE = re.compile(r"salesgrid\.([a-z_]+)\.([a-z_]+)\.(?:[a-z_{<*\"])")
# what services hand to their event helpers: _emit(session, "task.created", ...) and the like
HELPER = re.compile(r"_(?:emit|event)\(\s*session,\s*f?\"([a-z_]+)\.[a-z_{]", re.S)
SKIP_SERVICES = {"common", "events", "v1"}  # package names in `salesgrid.common.v1` and the like


def _sources(service: str) -> list[Path]:
    return sorted((ROOT / "services" / service / "src").rglob("*.py"))


def documented_aggregates() -> set[str]:
    found = set()
    for proto in sorted((ROOT / "proto" / "salesgrid" / "events" / "v1").glob("*.proto")):
        for service, aggregate in FULL_TYPE.findall(proto.read_text()):
            if service not in SKIP_SERVICES:
                found.add(f"salesgrid.{service}.{aggregate}")
    return found


def recorded_aggregates() -> set[str]:
    found = set()
    for service in SERVICES:
        for source in _sources(service):
            text = source.read_text()
            for producer, aggregate in FULL_TYPE.findall(text):
                if producer in SERVICES:
                    found.add(f"salesgrid.{producer}.{aggregate}")
            for aggregate in HELPER.findall(text):
                found.add(f"salesgrid.{service}.{aggregate}")
            if re.search(r"register_custom_fields\(\s*server,\s*ctx,", text):  # named after its outbox
                found.add(f"salesgrid.{service}.custom_field")
            if re.search(r"(?:export_jobs\(\s*ctx,|ExportJobs\()\s*\"" + service, text):
                found.add(f"salesgrid.{service}.export")
    return found


def test_the_scan_finds_what_it_must() -> None:
    """The scans themselves work: aggregates known to be published are found."""
    recorded = recorded_aggregates()
    for known in (
        "salesgrid.pipeline.discount_approval",  # through pipeline's _emit helper
        "salesgrid.activities.check_out",  # a helper call spread over lines
        "salesgrid.customers.customer",
        "salesgrid.contracts.custom_field",
        "salesgrid.analytics.export",
        "salesgrid.customers.export",
    ):
        assert known in recorded
    assert "salesgrid.webhooks.subscription" in documented_aggregates()


@pytest.mark.parametrize("source", ["documented", "recorded"])
def test_every_published_aggregate_is_in_the_catalogue(source: str) -> None:
    found = documented_aggregates() if source == "documented" else recorded_aggregates()
    missing = sorted(found - set(catalogue.AGGREGATES))
    assert missing == [], f"add these to salesgrid_common.events.catalogue.AGGREGATES: {missing}"


def test_each_aggregate_is_either_guarded_by_real_read_permissions_or_says_why_not() -> None:
    from salesgrid_identity.domain.roles import CATALOGUE

    for name, aggregate in catalogue.AGGREGATES.items():
        assert bool(aggregate.read) != bool(aggregate.internal), name
        for permission in aggregate.read:
            assert permission.endswith(":read") and permission in CATALOGUE, (name, permission)


def test_what_partners_may_receive() -> None:
    deliverable = catalogue.deliverable_aggregates()
    assert deliverable["salesgrid.pipeline.discount_approval"] == ("quotes:read",)
    assert deliverable["salesgrid.expenses.claim"] == ("expenses:read",)
    assert deliverable["salesgrid.contracts.document"] == ("contracts:read", "payments:read")
    for internal in ("salesgrid.identity.auth", "salesgrid.webhooks.subscription", "salesgrid.pipeline.sla"):
        assert internal not in deliverable
    assert catalogue.deliverable("salesgrid.pipeline.discount_approval.step_activated")
    assert not catalogue.deliverable("salesgrid.customers.customer.restated")  # re-states, changes nothing
    assert not catalogue.deliverable("salesgrid.gateway.sensitive_read.recorded")
    assert not catalogue.deliverable("salesgrid.nobody.thing.created")
