"""The customer's owner moves: release to the pool and claim from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from salesgrid_customers.domain.customer import make_customer

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_a_new_customer_is_assigned_to_its_owner_when_created() -> None:
    customer = make_customer(id="c", legal_name="Acme", created_at=NOW, owner_id="rep-a", org_path="/c/sz/")
    assert (customer.owner_unit_path, customer.assigned_at, customer.updated_at) == (("c", "sz"), NOW, NOW)


def test_release_keeps_the_last_owners_path_and_claim_takes_the_claimants() -> None:
    owned = make_customer(id="c", legal_name="Acme", created_at=NOW, owner_id="rep-a", org_path="/c/sz/")
    later = NOW + timedelta(days=3)
    pooled = owned.released_to_pool("rep-a", later)
    assert (pooled.owner_id, pooled.previous_owner_id, pooled.released_at) == (None, "rep-a", later)
    assert (pooled.assigned_at, pooled.updated_at, pooled.org_path) == (None, later, "/c/sz/")
    claimed = pooled.claimed_by("rep-b", "/c/bj/", later + timedelta(hours=1))
    assert (claimed.owner_id, claimed.org_path, claimed.owner_unit_path) == ("rep-b", "/c/bj/", ("c", "bj"))
    assert claimed.assigned_at == later + timedelta(hours=1)
    assert claimed.previous_owner_id == "rep-a"  # who held it before the pool, for the arbitration
