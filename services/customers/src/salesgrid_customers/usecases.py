"""Customer use cases: each runs in one transaction, checks the caller's permission and data
scope in its queries, applies the domain rules and writes its events to the outbox in that
same transaction."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message
from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.customers_events_pb2 import (CustomerClaimedFromPool, CustomerRecordState,
                                                       CustomerReleasedToPool, CustomerShareChanged)
from salesgrid_common.auth import Principal, scope_filter
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.directory import get_user
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.ids import new_id
from salesgrid_customers import models
from salesgrid_customers.domain import pool, sharing
from salesgrid_customers.domain.access import Actor
from salesgrid_customers.domain.concurrency import check_version, next_version
from salesgrid_customers.domain.customer import (MAX_CONTACTS, Address, Tier, make_contact, make_customer,
                                                 validate_address)
from salesgrid_customers.domain.dedup import (CandidateCustomer, DuplicateProbe, DuplicateReport, candidate_keys,
                                              classify_matches, normalise_name)
from salesgrid_customers.domain.errors import (AlreadyExists, Conflict, FailedPrecondition, NotFound,
                                               PermissionDenied, ValidationFailed)

MAX_CANDIDATES = 200  # rows sharing the most candidate keys, classified in Python
MAX_PAGE_SIZE = 200
EVENT_PREFIX = "salesgrid.customers.customer."


@dataclass(frozen=True)
class AddressInput:
    text: str
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class CustomerChanges:
    """Fields of an update; None leaves a field unchanged."""

    legal_name: str | None = None
    credit_code: str | None = None
    industry: str | None = None
    address: AddressInput | None = None
    tier: str | None = None
    tags: Sequence[str] | None = None
    source: str | None = None


def unit_path(org_path: str) -> tuple[str, ...]:
    """Org paths are unit ids joined by '/' ("/c/r1/b1/"), root first."""
    return tuple(part for part in org_path.split("/") if part)


def actor_of(principal: Principal) -> Actor:
    return Actor(principal.subject_id, unit_path(principal.org_path), frozenset(principal.roles))


def shared_with(principal: Principal, *roles: str) -> ColumnElement[bool]:
    """Rows shared with the caller (in any role, or only in `roles`): the scope filter's shared clause."""
    clause = and_(models.Share.customer_id == models.Customer.id, models.Share.user_id == principal.subject_id)
    if roles:
        clause = and_(clause, models.Share.role.in_(roles))
    return exists().where(clause)


def _address(value: AddressInput | None) -> Address | None:
    return None if value is None else validate_address(value.text, value.latitude, value.longitude)


def _page_size(requested: int) -> int:
    return max(1, min(requested or 50, MAX_PAGE_SIZE))


class CustomersUseCases:
    def __init__(self, sessions: SessionFactory, outbox: Outbox, clock: Clock,
                 policy: pool.PoolPolicy | None = None) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.clock = clock
        self.policy = policy or pool.PoolPolicy()

    # --- helpers ------------------------------------------------------------------------------

    async def _emit(self, session: AsyncSession, verb: str, row: models.Customer, principal: Principal,
                    payload: Message) -> None:
        await self.outbox.record(session, EVENT_PREFIX + verb, payload, EventMeta(
            aggregate_id=row.id, actor_id=principal.subject_id, org_path=row.org_path,
            actor_ip=principal.client_ip), self.clock())

    async def _emit_state(self, session: AsyncSession, verb: str, row: models.Customer, principal: Principal) -> None:
        await self._emit(session, verb, row, principal, CustomerRecordState(
            customer_id=row.id, legal_name=row.legal_name, credit_code=row.credit_code or "", tier=row.tier,
            owner_id=row.owner_id or "", org_path=row.org_path, version=row.version, tags=row.tags,
            industry=row.industry or ""))

    async def _load(self, session: AsyncSession, principal: Principal, customer_id: str, permission: str,
                    shared: ColumnElement[bool]) -> models.Customer:
        """The active customer if it is in the caller's scope for `permission`; fails closed."""
        principal.require(permission)
        row = await session.scalar(select(models.Customer).where(
            models.Customer.id == customer_id, models.Customer.active,
            scope_filter(principal, permission, models.Customer.owner_id, models.Customer.org_path, shared)))
        if row is not None:
            return row
        if await session.scalar(select(models.Customer.id).where(models.Customer.id == customer_id,
                                                                   models.Customer.active)) is None:
            raise NotFound(f"customer {customer_id} does not exist", "id")
        raise PermissionDenied(f"customer {customer_id} is outside your data scope ({permission})")

    async def _readable(self, session: AsyncSession, principal: Principal, customer_id: str) -> models.Customer:
        return await self._load(session, principal, customer_id, "customers:read", shared_with(principal))

    async def _writable(self, session: AsyncSession, principal: Principal, customer_id: str) -> models.Customer:
        # Collaborators only read; co-owners edit like the owner.
        return await self._load(session, principal, customer_id, "customers:update",
                                shared_with(principal, sharing.ShareRole.CO_OWNER.value))

    async def _resolve_owner(self, session: AsyncSession, principal: Principal, owner_id: str) -> tuple[str, str]:
        """(owner id, owner org path); another owner must be a known, active user in the caller's scope."""
        if not owner_id or owner_id == principal.subject_id:
            if not principal.org_path:
                raise FailedPrecondition("the caller has no org unit to own customers", "owner_id")
            return principal.subject_id, principal.org_path
        user = await get_user(session, owner_id)
        if user is None or not user.active:
            raise ValidationFailed(f"unknown owner {owner_id}", "owner_id")
        if not principal.can_see("customers:create", user.user_id, user.org_path):
            raise PermissionDenied(f"owner {owner_id} is outside your data scope")
        return user.user_id, user.org_path

    async def _duplicates(self, session: AsyncSession, normalised: str, credit_code: str | None,
                          exclude_id: str | None) -> DuplicateReport:
        """Index-backed: exact name and credit code via their indexes, near matches via the
        candidate-key table (rows sharing the most keys first); never a scan of customers."""
        keys = candidate_keys(normalised)
        by_keys = (select(models.CustomerNameKey.customer_id)
                   .where(models.CustomerNameKey.key.in_(keys))
                   .group_by(models.CustomerNameKey.customer_id)
                   .order_by(func.count().desc()).limit(MAX_CANDIDATES))
        ids = set((await session.scalars(by_keys)).all()) if keys else set()
        exact = models.Customer.normalised_name == normalised
        if credit_code:
            exact = or_(exact, models.Customer.credit_code == credit_code)
        rows = (await session.scalars(select(models.Customer).where(
            models.Customer.active, or_(exact, models.Customer.id.in_(ids)) if ids else exact))).all()
        candidates = [CandidateCustomer(r.id, r.legal_name, r.normalised_name, r.credit_code, r.owner_id) for r in rows]
        return classify_matches(DuplicateProbe(normalised, credit_code, exclude_id), candidates)

    @staticmethod
    def _block_duplicates(report: DuplicateReport) -> None:
        try:
            report.raise_if_blocked()
        except Conflict as exc:  # a duplicate is an existing resource, not a concurrency conflict
            raise AlreadyExists(exc.message, exc.field) from None

    async def _write_name_keys(self, session: AsyncSession, customer_id: str, normalised: str) -> None:
        await session.execute(delete(models.CustomerNameKey).where(models.CustomerNameKey.customer_id == customer_id))
        session.add_all(models.CustomerNameKey(key=key, customer_id=customer_id) for key in candidate_keys(normalised))

    # --- customers ----------------------------------------------------------------------------

    async def create_customer(self, principal: Principal, *, legal_name: str, credit_code: str = "",
                              industry: str = "", address: AddressInput | None = None, tier: str = "",
                              tags: Sequence[str] = (), source: str = "",
                              owner_id: str = "") -> tuple[models.Customer, DuplicateReport]:
        principal.require("customers:create")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            owner, org_path = await self._resolve_owner(session, principal, owner_id)
            customer = make_customer(
                id=new_id(), legal_name=legal_name, created_at=now, owner_id=owner,
                owner_unit_path=unit_path(org_path), credit_code=credit_code or None, industry=industry or None,
                address=_address(address), tier=tier or Tier.POTENTIAL, tags=tags, source=source or None)
            report = await self._duplicates(session, customer.normalised_name, customer.credit_code, None)
            self._block_duplicates(report)
            point = customer.address.point if customer.address else None
            row = models.Customer(
                id=customer.id, legal_name=customer.legal_name, normalised_name=customer.normalised_name,
                credit_code=customer.credit_code, industry=customer.industry,
                address_text=customer.address.text if customer.address else None,
                latitude=point.latitude if point else None, longitude=point.longitude if point else None,
                tier=customer.tier.value, tags=list(customer.tags), source=customer.source, owner_id=owner,
                org_path=org_path, assigned_at=now, active=True, version=1, created_by=principal.subject_id,
                created_at=now, updated_at=now)
            session.add(row)
            await session.flush()
            await self._write_name_keys(session, row.id, row.normalised_name)
            await self._emit_state(session, "created", row, principal)
        return row, report

    async def get_customer(self, principal: Principal, customer_id: str) -> models.Customer:
        async with self.sessions() as session:
            return await self._readable(session, principal, customer_id)

    async def update_customer(self, principal: Principal, customer_id: str, expected_version: int,
                              changes: CustomerChanges) -> models.Customer:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._writable(session, principal, customer_id)
            check_version(expected_version, row.version)
            address = changes.address
            current_address = Address(row.address_text, None) if row.address_text else None
            merged = make_customer(
                id=row.id, created_at=row.created_at, owner_id=row.owner_id, owner_unit_path=unit_path(row.org_path),
                legal_name=row.legal_name if changes.legal_name is None else changes.legal_name,
                credit_code=row.credit_code if changes.credit_code is None else changes.credit_code,
                industry=row.industry if changes.industry is None else changes.industry,
                address=current_address if address is None else _address(address),
                tier=row.tier if changes.tier is None else changes.tier,
                tags=row.tags if changes.tags is None else changes.tags,
                source=row.source if changes.source is None else changes.source)
            renamed = merged.normalised_name != row.normalised_name or merged.credit_code != row.credit_code
            if renamed:
                self._block_duplicates(await self._duplicates(session, merged.normalised_name, merged.credit_code,
                                                              row.id))
            values: dict[str, Any] = {
                "legal_name": merged.legal_name, "normalised_name": merged.normalised_name,
                "credit_code": merged.credit_code, "industry": merged.industry, "tier": merged.tier.value,
                "tags": list(merged.tags), "source": merged.source, "updated_at": now,
                "version": next_version(row.version)}
            if address is not None:
                point = merged.address.point if merged.address else None
                values.update(address_text=merged.address.text if merged.address else None,
                              latitude=point.latitude if point else None, longitude=point.longitude if point else None)
            # The version condition makes the write itself optimistic: a concurrent writer loses here.
            result = await session.execute(update(models.Customer).where(
                models.Customer.id == row.id, models.Customer.version == expected_version).values(**values))
            if result.rowcount != 1:
                raise Conflict("customer was modified concurrently", "version")
            await session.refresh(row)
            if renamed:
                await self._write_name_keys(session, row.id, row.normalised_name)
            await self._emit_state(session, "updated", row, principal)
            return row

    async def list_customers(self, principal: Principal, *, page_size: int = 50, cursor: str = "",
                             owner_id: str = "", tier: str = "", query: str = "") -> tuple[list[models.Customer], str]:
        """Newest first, keyset-paged on the time-ordered id; only what the caller's scope shows."""
        principal.require("customers:read")
        size = _page_size(page_size)
        stmt = (select(models.Customer)
                .where(models.Customer.active,
                       scope_filter(principal, "customers:read", models.Customer.owner_id, models.Customer.org_path,
                                    shared_with(principal)))
                .order_by(models.Customer.id.desc()).limit(size + 1))
        if cursor:
            stmt = stmt.where(models.Customer.id < cursor)
        if owner_id:
            stmt = stmt.where(models.Customer.owner_id == owner_id)
        if tier:
            try:
                stmt = stmt.where(models.Customer.tier == Tier(tier).value)
            except ValueError:
                raise ValidationFailed(f"tier must be one of {', '.join(t.value for t in Tier)}", "tier") from None
        if query.strip():
            stmt = stmt.where(models.Customer.normalised_name.contains(normalise_name(query), autoescape=True))
        async with self.sessions() as session:
            rows = list((await session.scalars(stmt)).all())
        return rows[:size], rows[size - 1].id if len(rows) > size else ""

    async def check_duplicates(self, principal: Principal, legal_name: str, credit_code: str = "",
                               exclude_customer_id: str = "") -> DuplicateReport:
        # Matches name owners outside the caller's scope on purpose: the rep asks them to share.
        principal.require("customers:read")
        probe = make_customer(id="probe", legal_name=legal_name, created_at=self.clock(), owner_id=None,
                              credit_code=credit_code or None)
        async with self.sessions() as session:
            return await self._duplicates(session, probe.normalised_name, probe.credit_code,
                                          exclude_customer_id or None)

    # --- contacts -----------------------------------------------------------------------------

    async def add_contact(self, principal: Principal, customer_id: str, *, full_name: str, title: str = "",
                          phones: Sequence[str] = (), email: str = "", primary: bool = False) -> models.Contact:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._writable(session, principal, customer_id)
            contact = make_contact(new_id(), full_name, title=title or None, phones=phones, email=email or None,
                                   primary=primary)
            count = await session.scalar(select(func.count()).select_from(models.Contact).where(
                models.Contact.customer_id == row.id)) or 0
            if count >= MAX_CONTACTS:
                raise FailedPrecondition(f"at most {MAX_CONTACTS} contacts per customer", "customer_id")
            if contact.primary:  # the new primary contact demotes the previous one
                await session.execute(update(models.Contact).where(models.Contact.customer_id == row.id)
                                      .values(is_primary=False))
            stored = models.Contact(id=contact.id, customer_id=row.id, full_name=contact.full_name,
                                    title=contact.title, phones=list(contact.phones), email=contact.email,
                                    is_primary=contact.primary, created_at=now)
            session.add(stored)
            return stored

    async def list_contacts(self, principal: Principal, customer_id: str) -> list[models.Contact]:
        async with self.sessions() as session:
            row = await self._readable(session, principal, customer_id)
            return list((await session.scalars(select(models.Contact).where(models.Contact.customer_id == row.id)
                                               .order_by(models.Contact.id))).all())

    # --- sharing ------------------------------------------------------------------------------

    @staticmethod
    async def _shares(session: AsyncSession, customer_id: str) -> tuple[sharing.Share, ...]:
        rows = (await session.scalars(select(models.Share).where(models.Share.customer_id == customer_id)
                                      .order_by(models.Share.user_id))).all()
        return tuple(sharing.Share(r.user_id, sharing.ShareRole(r.role)) for r in rows)

    async def share_customer(self, principal: Principal, customer_id: str, user_id: str,
                             role: str) -> tuple[sharing.Share, ...]:
        principal.require("customers:share")
        async with self.sessions() as session, session.begin():
            row = await self._readable(session, principal, customer_id)
            shares = sharing.add_share(await self._shares(session, row.id), owner_id=row.owner_id,
                                       owner_unit_path=unit_path(row.org_path), actor=actor_of(principal),
                                       user_id=user_id, role=role)
            sharee = await get_user(session, user_id)
            if sharee is None or not sharee.active:
                raise ValidationFailed(f"unknown user {user_id}", "user_id")
            added = next(s for s in shares if s.user_id == user_id)
            await session.execute(delete(models.Share).where(models.Share.customer_id == row.id,
                                                             models.Share.user_id == user_id))
            session.add(models.Share(customer_id=row.id, user_id=user_id, role=added.role.value,
                                     created_at=self.clock()))
            await self._emit(session, "shared", row, principal, CustomerShareChanged(
                customer_id=row.id, user_id=user_id, role=added.role.value, owner_id=row.owner_id or ""))
            return shares

    async def unshare_customer(self, principal: Principal, customer_id: str, user_id: str) -> tuple[sharing.Share, ...]:
        principal.require("customers:share")
        async with self.sessions() as session, session.begin():
            row = await self._readable(session, principal, customer_id)
            shares = sharing.remove_share(await self._shares(session, row.id), owner_id=row.owner_id,
                                          owner_unit_path=unit_path(row.org_path), actor=actor_of(principal),
                                          user_id=user_id)
            await session.execute(delete(models.Share).where(models.Share.customer_id == row.id,
                                                             models.Share.user_id == user_id))
            await self._emit(session, "unshared", row, principal, CustomerShareChanged(
                customer_id=row.id, user_id=user_id, owner_id=row.owner_id or ""))
            return shares

    async def list_shares(self, principal: Principal, customer_id: str) -> tuple[sharing.Share, ...]:
        async with self.sessions() as session:
            row = await self._readable(session, principal, customer_id)
            return await self._shares(session, row.id)

    # --- public pool --------------------------------------------------------------------------

    async def release(self, principal: Principal, customer_id: str, reason: str = "") -> models.Customer:
        principal.require("pool:release")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._readable(session, principal, customer_id)
            released = pool.check_release(pool.PoolEntry(row.id, row.owner_id, row.previous_owner_id, row.released_at),
                                          unit_path(row.org_path), actor_of(principal), now, reason)
            result = await session.execute(update(models.Customer).where(
                models.Customer.id == row.id, models.Customer.owner_id == released.previous_owner_id).values(
                owner_id=None, previous_owner_id=released.previous_owner_id, released_at=now, assigned_at=None,
                version=models.Customer.version + 1, updated_at=now))
            if result.rowcount != 1:
                raise Conflict("customer changed owner concurrently", "owner_id")
            # A pool customer cannot be shared (sharing.add_share): its shares end with the release.
            await session.execute(delete(models.Share).where(models.Share.customer_id == row.id))
            await session.refresh(row)
            await self._emit(session, "released_to_pool", row, principal, CustomerReleasedToPool(
                customer_id=row.id, previous_owner_id=released.previous_owner_id, released_by=released.released_by,
                reason=released.reason, org_path=row.org_path))
            return row

    async def list_pool(self, principal: Principal, page_size: int = 50, cursor: str = "") -> tuple[list[models.Customer], str]:
        """The pool is public to everyone holding pool:read (公海), newest release first by id."""
        principal.require("pool:read")
        size = _page_size(page_size)
        stmt = (select(models.Customer).where(models.Customer.active, models.Customer.owner_id.is_(None))
                .order_by(models.Customer.id.desc()).limit(size + 1))
        if cursor:
            stmt = stmt.where(models.Customer.id < cursor)
        async with self.sessions() as session:
            rows = list((await session.scalars(stmt)).all())
        return rows[:size], rows[size - 1].id if len(rows) > size else ""

    async def claim(self, principal: Principal, customer_id: str) -> models.Customer:
        principal.require("pool:claim")
        if not principal.org_path:
            raise FailedPrecondition("the caller has no org unit to own customers", "owner_id")
        me = principal.subject_id
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await session.scalar(select(models.Customer).where(models.Customer.id == customer_id,
                                                                     models.Customer.active))
            if row is None:
                raise NotFound(f"customer {customer_id} does not exist", "id")
            held = await session.scalar(select(func.count()).select_from(models.Customer).where(
                models.Customer.owner_id == me, models.Customer.active)) or 0
            user = await get_user(session, me)
            start, end = pool.local_day_window(now, user.time_zone if user else "UTC")
            today = await session.scalar(select(func.count()).select_from(models.PoolClaim).where(
                models.PoolClaim.user_id == me, models.PoolClaim.claimed_at >= start,
                models.PoolClaim.claimed_at < end)) or 0
            pool.check_claim(pool.PoolEntry(row.id, row.owner_id, row.previous_owner_id, row.released_at), me,
                             held_count=held, claims_today=today, policy=self.policy, now=now)
            # Only one concurrent claimant can match `owner_id IS NULL`; the others update nothing.
            result = await session.execute(update(models.Customer).where(
                models.Customer.id == row.id, models.Customer.owner_id.is_(None)).values(
                owner_id=me, org_path=principal.org_path, assigned_at=now, version=models.Customer.version + 1,
                updated_at=now))
            if result.rowcount != 1:
                raise FailedPrecondition("customer was claimed by someone else", "owner_id")
            session.add(models.PoolClaim(id=new_id(), customer_id=row.id, user_id=me, claimed_at=now))
            await session.refresh(row)
            await self._emit(session, "claimed", row, principal, CustomerClaimedFromPool(
                customer_id=row.id, new_owner_id=me, org_path=row.org_path))
            return row
