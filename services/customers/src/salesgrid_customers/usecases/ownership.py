"""Ownership use cases."""

from __future__ import annotations

from collections.abc import Sequence

from salesgrid_common.auth.principal import Principal
from salesgrid_common.ids import new_id
from salesgrid_customers import customer_events
from salesgrid_customers.domain import ownership
from salesgrid_customers.domain.ownership import Arbitration
from salesgrid_customers.stores.arbitrations import insert_arbitration
from salesgrid_customers.domain.dedup import CandidateCustomer, DuplicateProbe, classify_matches
from salesgrid_customers.domain.errors import FailedPrecondition, ValidationFailed

from salesgrid_customers.stores.customers import CO_OWNERS, load_customer
from salesgrid_customers.stores.facts import first_activity
from salesgrid_customers.usecases._support import CustomersUseCasesBase


class OwnershipMixin(CustomersUseCasesBase):
    """CustomersUseCases: ownership."""

    async def arbitrate(self, principal: Principal, customer_ids: Sequence[str], registered_name: str) -> Arbitration:
        """Near-duplicate records of different reps: DESIGN's three rules decide, the decision and
        its evidence are recorded and both reps are told by event. Nobody's record changes here."""
        ids = list(dict.fromkeys(i.strip() for i in customer_ids if i.strip()))
        if len(ids) < 2:
            raise ValidationFailed("name at least two different customers", "customer_ids")
        if not registered_name.strip():
            raise ValidationFailed("the registered legal name is required", "registered_name")
        if len(registered_name) > 200:
            raise ValidationFailed("at most 200 characters", "registered_name")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            rows = [await load_customer(session, principal, i, "customers:merge", CO_OWNERS) for i in ids]
            owners = [r.owner_id for r in rows]
            if None in owners:
                raise FailedPrecondition("a customer in the public pool has no owner to arbitrate", "customer_ids")
            if len(set(owners)) != len(owners):
                raise FailedPrecondition("each customer must be held by a different rep", "customer_ids")
            first, others = rows[0], rows[1:]
            report = classify_matches(
                DuplicateProbe(first.normalised_name, first.credit_code, first.id),
                [CandidateCustomer(r.id, r.legal_name, r.normalised_name, r.credit_code, r.owner_id) for r in others],
            )
            matched = {m.customer_id for m in (*report.blocking, *report.warnings)}
            if unmatched := [r.id for r in others if r.id not in matched]:
                raise FailedPrecondition(f"not near duplicates of {first.id}: {', '.join(unmatched)}", "customer_ids")
            facts = await first_activity(session, ids)
            claims = []
            for r in rows:
                fact = facts.get((r.id, r.owner_id))
                claims.append(
                    ownership.OwnershipClaim(
                        r.owner_id,
                        r.id,
                        r.legal_name,
                        fact.first_follow_up_at if fact else None,
                        fact.first_opportunity_at if fact else None,
                    )
                )
            decision = ownership.arbitrate_ownership(claims, registered_name, now)
            record = Arbitration(
                new_id(),
                tuple(ids),
                tuple(o for o in owners if o),
                registered_name.strip(),
                decision,
                principal.subject_id,
            )
            insert_arbitration(session, record)
            anchor = next((r for r in rows if r.id == decision.winner_customer_id), first)
            await self._emit(
                session, "arbitration_decided", anchor, principal, customer_events.arbitration_decided(record)
            )
            return record
