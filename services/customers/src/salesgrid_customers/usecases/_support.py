"""Helpers shared by the use-case modules of this package."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common import orgpaths
from salesgrid_common.actors import system_actor
from salesgrid_common.auth.principal import Principal
from salesgrid_common.clock import Clock
from salesgrid_common.custom_fields.records import apply_values
from salesgrid_common.db import Reads, SessionFactory
from salesgrid_common.directory import get_user
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.ids import new_id
from salesgrid_customers.domain import pool
from salesgrid_customers.domain.access import Actor
from salesgrid_customers.domain.customer import Address, Customer, Tier, make_customer, validate_address
from salesgrid_customers.domain.dedup import (
    DuplicateProbe,
    DuplicateReport,
    classify_matches,
)
from salesgrid_customers.domain.errors import (
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    PermissionDenied,
    ValidationFailed,
)
from salesgrid_customers import customer_events
from salesgrid_customers.stores.customers import CUSTOMER_FIELDS, CO_OWNERS, insert_customer, load_customer
from salesgrid_customers.stores.duplicates import duplicate_candidates
from salesgrid_customers.stores.pool import held_count
from salesgrid_customers.stores.pool_policies import RULES, stored_pool_policies


SYSTEM_ACTOR = system_actor("customers")

CONTACT_FIELDS = "contacts"


@dataclass(frozen=True)
class AddressInput:
    text: str
    latitude: float | None = None
    longitude: float | None = None


def unit_path(org_path: str) -> tuple[str, ...]:
    """Org paths are unit ids joined by '/' ("/c/r1/b1/"), root first."""
    return orgpaths.segments(org_path)


def actor_of(principal: Principal) -> Actor:
    return Actor(principal.subject_id, unit_path(principal.org_path), frozenset(principal.roles))


POLICY_FIELDS = RULES  # the policy's rules, by name (requests and responses carry each)


def _address(value: AddressInput | None) -> Address | None:
    return None if value is None else validate_address(value.text, value.latitude, value.longitude)


class CustomersUseCasesBase:
    """What every part of CustomersUseCases shares: its wiring and the helpers more than one topic uses."""

    def __init__(
        self,
        sessions: SessionFactory,
        outbox: Outbox,
        clock: Clock,
        policy: pool.PoolPolicy | None = None,
        unit_policies: Mapping[str, pool.PoolPolicy] | None = None,
        reader: SessionFactory | None = None,
    ) -> None:
        self.sessions = sessions
        # Read-only use cases: on SQLite a separate engine whose transactions never queue for
        # the write lock (the writer's begin IMMEDIATE); on PostgreSQL the same pool.
        self.reader = reader or sessions
        self.outbox = outbox
        self.clock = clock
        self.policy = policy or pool.PoolPolicy()
        self.unit_policies = dict(unit_policies or {})

    async def _emit(
        self, session: AsyncSession, verb: str, customer: Customer, principal: Principal | None, payload: Message
    ) -> None:
        """principal None: the service itself acts (the pool scheduler)."""
        await self.outbox.record_by(
            session,
            f"customer.{verb}",
            payload,
            principal,
            aggregate_id=customer.id,
            org_path=customer.org_path,
            occurred_at=self.clock(),
        )

    async def _owner_changed(
        self, session: AsyncSession, customer: Customer, principal: Principal | None, previous: str | None, reason: str
    ) -> None:
        await self._emit(
            session, "owner_changed", customer, principal, customer_events.owner_changed(customer, previous, reason)
        )

    async def _unit_policies(self, session: AsyncSession) -> dict[str, pool.PoolPolicy]:
        """Configured policies (ctx.extras) overridden by those stored per unit; org units are few."""
        return {**self.unit_policies, **await stored_pool_policies(session)}

    async def _emit_state(self, session: AsyncSession, verb: str, customer: Customer, principal: Principal) -> None:
        await self._emit(session, verb, customer, principal, customer_events.customer_state(customer))

    async def _readable(self, session: Reads, principal: Principal, customer_id: str) -> Customer:
        return await load_customer(session, principal, customer_id, "customers:read")

    async def _writable(self, session: AsyncSession, principal: Principal, customer_id: str) -> Customer:
        # Collaborators only read; co-owners edit like the owner.
        return await load_customer(session, principal, customer_id, "customers:update", CO_OWNERS)

    async def _resolve_owner(
        self, session: AsyncSession, principal: Principal, owner_id: str, permission: str = "customers:create"
    ) -> tuple[str, str]:
        """(owner id, owner org path); another owner must be a known, active user in the caller's scope."""
        if not owner_id or owner_id == principal.subject_id:
            if not principal.org_path:
                raise FailedPrecondition("the caller has no org unit to own customers", "owner_id")
            return principal.subject_id, principal.org_path
        user = await get_user(session, owner_id)
        if user is None or not user.active:
            raise ValidationFailed(f"unknown owner {owner_id}", "owner_id")
        if not principal.can_see(permission, user.user_id, user.org_path):
            raise PermissionDenied(f"owner {owner_id} is outside your data scope", "owner_id")
        return user.user_id, user.org_path

    async def _duplicates(
        self, session: AsyncSession, normalised: str, credit_code: str | None, exclude_id: str | None
    ) -> DuplicateReport:
        """Index-backed, one round trip (stores/duplicates.py); never a scan of customers. The
        matches name their owners (from the directory replica): a rep must see who to ask for sharing."""
        candidates, owners = await duplicate_candidates(session, normalised, credit_code)
        report = classify_matches(DuplicateProbe(normalised, credit_code, exclude_id), candidates)
        return report.with_owners(owners) if report.owner_ids() else report

    @staticmethod
    def _block_duplicates(report: DuplicateReport) -> None:
        try:
            report.raise_if_blocked()
        except Conflict as exc:  # a duplicate is an existing resource, not a concurrency conflict
            raise AlreadyExists(exc.message, exc.field, info=exc.info) from None

    async def _held_and_cap(self, session: AsyncSession, owner_id: str, org_path: str) -> tuple[int, int | None]:
        """How many active customers the owner holds, and the cap on that of the pool policy in
        force for his unit (None: no cap)."""
        policy = pool.resolve_policy(unit_path(org_path), await self._unit_policies(session), self.policy)
        if policy.max_customers_per_rep is None:
            return 0, None
        return await held_count(session, owner_id), policy.max_customers_per_rep

    async def _create(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        legal_name: str,
        credit_code: str,
        industry: str,
        address: AddressInput | None,
        tier: str,
        tags: Sequence[str],
        source: str,
        owner_id: str,
        cap_held: bool = False,
        custom_fields: Mapping[str, Any] | None = None,
    ) -> tuple[Customer, DuplicateReport]:
        """The create rules, shared by single creates and import rows. cap_held: a customer the
        caller takes himself counts against his pool policy's cap on customers held (imports)."""
        now = self.clock()
        owner, org_path = await self._resolve_owner(session, principal, owner_id)
        customer = make_customer(
            id=new_id(),
            legal_name=legal_name,
            created_at=now,
            owner_id=owner,
            org_path=org_path,
            created_by=principal.subject_id,
            credit_code=credit_code or None,
            industry=industry or None,
            address=_address(address),
            tier=tier or Tier.POTENTIAL,
            tags=tags,
            source=source or None,
        )
        if cap_held and owner == principal.subject_id:
            held, cap = await self._held_and_cap(session, owner, org_path)
            if cap is not None and held >= cap:
                raise FailedPrecondition(
                    f"{owner} already holds {held} customers, the cap of the pool policy is {cap}",
                    "owner_id",
                    reason="POOL_CUSTOMER_CAP",
                    info={"held": str(held), "cap": str(cap)},
                )
        report = await self._duplicates(session, customer.normalised_name, customer.credit_code, None)
        self._block_duplicates(report)
        values = await apply_values(session, CUSTOMER_FIELDS, customer.id, {}, custom_fields, creating=True)
        customer = replace(customer, custom_fields=values)
        await insert_customer(session, customer)
        await self._emit_state(session, "created", customer, principal)
        return customer, report
