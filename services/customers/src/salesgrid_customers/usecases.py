"""Customer use cases: each runs in one transaction, checks the caller's permission and data
scope in its queries, applies the domain rules and writes its events to the outbox in that
same transaction."""
from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from datetime import datetime
from itertools import islice
from typing import IO, Any, TypeVar

from google.protobuf.message import Message
from sqlalchemy import (ColumnElement, Integer, Select, String, and_, bindparam, cast, delete, exists, func, insert,
                        or_, select, union, union_all, update)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.customers_events_pb2 import (CustomerArbitrationDecided, CustomerClaimedFromPool,
                                                       CustomerMerged, CustomerPoolReturnWarning, CustomerRecordState,
                                                       CustomerReleasedToPool, CustomerShareChanged,
                                                       CustomerContactState, CustomerOwnerChanged)
from salesgrid_common import localtime
from salesgrid_common.actors import system_actor
from salesgrid_common.auth import Principal, Scope, principal_from_claims, scope_filter
from salesgrid_common.clock import Clock
from salesgrid_common.customer_merges import record_merge, survivor_of
from salesgrid_common.db import SessionFactory
from salesgrid_common.directory import directory_units, get_user
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.ids import new_id
from salesgrid_common.paging import keyset_page, sorted_keyset_page
from salesgrid_customers import models
from salesgrid_customers.domain import customer as domain, imports, merge, overview, ownership, pool, sharing
from salesgrid_customers.domain.access import Actor
from salesgrid_customers.domain.concurrency import check_version, next_version
from salesgrid_customers.domain.customer import (MAX_CONTACTS, Address, GeoPoint, Tier, make_contact,
                                                 make_customer, normalise_tag, validate_address)
from salesgrid_customers.domain.dedup import (MAX_CANDIDATE_KEYS, CandidateCustomer, DuplicateProbe, DuplicateReport,
                                              OwnerInfo, candidate_keys, classify_matches)
from salesgrid_customers.domain.search import MatchMode, NameQuery, index_keys, parse_query
from salesgrid_customers.domain.errors import (AlreadyExists, Conflict, DomainError, FailedPrecondition, NotFound,
                                               PermissionDenied, ValidationFailed)
from salesgrid_customers.importfiles import read_rows
from salesgrid_customers.owners import owners_of, with_owner_names

MAX_CANDIDATES = 60  # rows sharing the most candidate keys, classified in Python
KEY_POSTINGS = 300  # rows read per candidate key
SEARCH_CANDIDATES = 2000  # names a search reads from the key index before treating its words as common
EVENT_PREFIX = "salesgrid.customers.customer."
SCAN_BATCH = 500
SYSTEM_ACTOR = system_actor("customers")


@dataclass(frozen=True)
class AddressInput:
    text: str
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Overview:
    customer: models.Customer
    contacts: list[models.Contact]
    follow_up_count: int
    last_follow_up_at: datetime | None
    open_opportunities: int
    contracts: int
    money: overview.MoneySummary


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
    owner_id: str | None = None  # reassignment


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


POLICY_FIELDS = tuple(f.name for f in fields(pool.PoolPolicy))


def policy_of(row: models.PoolPolicyRow) -> pool.PoolPolicy:
    return pool.PoolPolicy(**{name: getattr(row, name) for name in POLICY_FIELDS})


def _address(value: AddressInput | None) -> Address | None:
    return None if value is None else validate_address(value.text, value.latitude, value.longitude)


# List orders: column, descending. "newest" (the default) pages on the time-ordered id alone.
LIST_ORDERS: dict[str, tuple[Any, bool]] = {
    "newest": (models.Customer.id, True),
    "name": (models.Customer.normalised_name, False),
    "recently_updated": (models.Customer.updated_at, True),
}


class CustomersUseCases:
    def __init__(self, sessions: SessionFactory, outbox: Outbox, clock: Clock,
                 policy: pool.PoolPolicy | None = None, unit_policies: Mapping[str, pool.PoolPolicy] | None = None,
                 reader: SessionFactory | None = None) -> None:
        self.sessions = sessions
        # Read-only use cases: on SQLite a separate engine whose transactions never queue for
        # the write lock (the writer's begin IMMEDIATE); on PostgreSQL the same pool.
        self.reader = reader or sessions
        self.outbox = outbox
        self.clock = clock
        self.policy = policy or pool.PoolPolicy()
        self.unit_policies = dict(unit_policies or {})

    # --- helpers ------------------------------------------------------------------------------

    async def _emit(self, session: AsyncSession, verb: str, row: models.Customer, principal: Principal | None,
                    payload: Message) -> None:
        """principal None: the service itself acts (the pool scheduler)."""
        await self.outbox.record(session, EVENT_PREFIX + verb, payload, EventMeta(
            aggregate_id=row.id, actor_id=principal.subject_id if principal else SYSTEM_ACTOR, org_path=row.org_path,
            actor_ip=principal.client_ip if principal else ""), self.clock())

    async def _owner_changed(self, session: AsyncSession, row: models.Customer, principal: Principal | None,
                             previous_owner_id: str | None, reason: str) -> None:
        await self._emit(session, "owner_changed", row, principal, CustomerOwnerChanged(
            customer_id=row.id, previous_owner_id=previous_owner_id or "", new_owner_id=row.owner_id or "",
            org_path=row.org_path, reason=reason))

    async def _emit_contact(self, session: AsyncSession, verb: str, row: models.Customer, principal: Principal,
                            contact: models.Contact) -> None:
        await self._emit(session, verb, row, principal, CustomerContactState(
            contact_id=contact.id, customer_id=row.id, full_name=contact.full_name, title=contact.title or "",
            phones=contact.phones, email=contact.email or "", primary=contact.is_primary))

    async def _unit_policies(self, session: AsyncSession) -> dict[str, pool.PoolPolicy]:
        """Configured policies (ctx.extras) overridden by those stored per unit; org units are few."""
        stored = (await session.scalars(select(models.PoolPolicyRow))).all()
        return {**self.unit_policies, **{r.unit_id: policy_of(r) for r in stored}}

    async def _emit_state(self, session: AsyncSession, verb: str, row: models.Customer, principal: Principal) -> None:
        await self._emit(session, verb, row, principal, CustomerRecordState(
            customer_id=row.id, legal_name=row.legal_name, credit_code=row.credit_code or "", tier=row.tier,
            owner_id=row.owner_id or "", org_path=row.org_path, version=row.version, tags=row.tags,
            industry=row.industry or "", has_location=row.latitude is not None and row.longitude is not None,
            latitude=row.latitude or 0.0, longitude=row.longitude or 0.0))

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
            survivor = await survivor_of(session, customer_id, writing=False)
            if survivor != customer_id:  # say where its records went
                raise NotFound(f"customer {customer_id} was merged into customer {survivor}", "id")
            raise NotFound(f"customer {customer_id} does not exist", "id")
        raise PermissionDenied(f"customer {customer_id} is outside your data scope ({permission})")

    async def _readable(self, session: AsyncSession, principal: Principal, customer_id: str) -> models.Customer:
        return await self._load(session, principal, customer_id, "customers:read", shared_with(principal))

    async def _writable(self, session: AsyncSession, principal: Principal, customer_id: str) -> models.Customer:
        # Collaborators only read; co-owners edit like the owner.
        return await self._load(session, principal, customer_id, "customers:update",
                                shared_with(principal, sharing.ShareRole.CO_OWNER.value))

    async def _resolve_owner(self, session: AsyncSession, principal: Principal, owner_id: str,
                             permission: str = "customers:create") -> tuple[str, str]:
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

    async def _duplicates(self, session: AsyncSession, normalised: str, credit_code: str | None,
                          exclude_id: str | None) -> DuplicateReport:
        """Index-backed, one round trip (see _duplicate_candidates); never a scan of customers."""
        keys = sorted(candidate_keys(normalised))
        # Sharing one gram of many (科技) is chance, not similarity: classifying is the costly part.
        parameters = {"name": normalised, "credit_code": credit_code, "least": 1 if len(keys) < 4 else 2,
                      **{f"key{index}": key for index, key in enumerate(keys)}}
        rows = (await session.execute(_duplicate_candidates(len(keys)), parameters)).all()
        report = classify_matches(DuplicateProbe(normalised, credit_code, exclude_id),
                                  [CandidateCustomer(*row) for row in rows])
        return await with_owner_names(session, report)  # a rep must see who to ask for sharing

    @staticmethod
    def _block_duplicates(report: DuplicateReport) -> None:
        try:
            report.raise_if_blocked()
        except Conflict as exc:  # a duplicate is an existing resource, not a concurrency conflict
            raise AlreadyExists(exc.message, exc.field, info=exc.info) from None

    @staticmethod
    def _name_taken() -> AlreadyExists:
        return AlreadyExists("a customer with this normalised name was just created or renamed", "legal_name")

    async def _flush_unique_name(self, session: AsyncSession) -> None:
        """The unique index on active normalised names decides between concurrent writers."""
        try:
            await session.flush()
        except IntegrityError:
            raise self._name_taken() from None

    async def _write_name_keys(self, session: AsyncSession, customer_id: str, normalised: str) -> None:
        await session.execute(delete(models.CustomerNameKey).where(models.CustomerNameKey.customer_id == customer_id))
        session.add_all(models.CustomerNameKey(key=key, customer_id=customer_id)
                        for key in index_keys(normalised))

    @staticmethod
    async def _name_search(session: AsyncSession, stmt: Select[Any], name_query: NameQuery) -> Select[Any]:
        """Names carrying every key of the query, confirmed by a text test. First the key index
        alone: the newest SEARCH_CANDIDATES customers holding all the keys (index-only joins,
        no customer rows read). Fewer than that is the complete set, and the page is read by
        id from it whatever its order or scope, so a rare combination of common grams (医药物流)
        costs its posting lists and no more. As many means the words are common: the page is
        then read newest first, joined to one key, where matches are dense."""
        # Keys as literals: PostgreSQL then plans with each key's own frequency; a generic plan
        # for parameters merged common posting lists about eight times slower.
        keys = [bindparam(None, key, type_=String, literal_execute=True) for key in name_query.keys]
        postings = [aliased(models.CustomerNameKey) for _ in keys]
        first = postings[0]
        candidates = select(first.customer_id).where(first.key == keys[0])
        for keyed, key in zip(postings[1:], keys[1:], strict=True):
            candidates = candidates.join(keyed, and_(keyed.customer_id == first.customer_id, keyed.key == key))
        ids = (await session.scalars(candidates.order_by(first.customer_id.desc()).limit(SEARCH_CANDIDATES))).all()
        column = models.Customer.normalised_name
        confirm = (column.contains(name_query.text, autoescape=True) if name_query.mode is MatchMode.CONTAINS
                   else column.startswith(name_query.text, autoescape=True))
        if len(ids) < SEARCH_CANDIDATES:
            return stmt.where(models.Customer.id.in_(ids), confirm)
        keyed = models.CustomerNameKey
        return stmt.join(keyed, and_(keyed.customer_id == models.Customer.id, keyed.key == keys[0])).where(confirm)

    # --- customers ----------------------------------------------------------------------------

    async def create_customer(self, principal: Principal, *, legal_name: str, credit_code: str = "",
                              industry: str = "", address: AddressInput | None = None, tier: str = "",
                              tags: Sequence[str] = (), source: str = "",
                              owner_id: str = "") -> tuple[models.Customer, DuplicateReport]:
        principal.require("customers:create")
        async with self.sessions() as session, session.begin():
            return await self._create(session, principal, legal_name=legal_name, credit_code=credit_code,
                                      industry=industry, address=address, tier=tier, tags=tags, source=source,
                                      owner_id=owner_id)

    async def _create(self, session: AsyncSession, principal: Principal, *, legal_name: str, credit_code: str,
                      industry: str, address: AddressInput | None, tier: str, tags: Sequence[str], source: str,
                      owner_id: str, cap_held: bool = False) -> tuple[models.Customer, DuplicateReport]:
        """The create rules, shared by single creates and import rows. cap_held: a customer the
        caller takes himself counts against his pool policy's cap on customers held (imports)."""
        now = self.clock()
        owner, org_path = await self._resolve_owner(session, principal, owner_id)
        customer = make_customer(
            id=new_id(), legal_name=legal_name, created_at=now, owner_id=owner,
            owner_unit_path=unit_path(org_path), credit_code=credit_code or None, industry=industry or None,
            address=_address(address), tier=tier or Tier.POTENTIAL, tags=tags, source=source or None)
        if cap_held and owner == principal.subject_id:
            policy = pool.resolve_policy(unit_path(org_path), await self._unit_policies(session), self.policy)
            held = await session.scalar(select(func.count()).select_from(models.Customer).where(
                models.Customer.owner_id == owner, models.Customer.active)) or 0
            if policy.max_customers_per_rep is not None and held >= policy.max_customers_per_rep:
                raise FailedPrecondition(f"{owner} already holds {held} customers, the cap of the pool policy "
                                         f"is {policy.max_customers_per_rep}", "owner_id")
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
        await self._flush_unique_name(session)
        await self._write_name_keys(session, row.id, row.normalised_name)
        await self._emit_state(session, "created", row, principal)
        return row, report

    async def get_customer(self, principal: Principal, customer_id: str) -> models.Customer:
        async with self.reader() as session:
            return await self._readable(session, principal, customer_id)

    async def update_customer(self, principal: Principal, customer_id: str, expected_version: int,
                              changes: CustomerChanges) -> models.Customer:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._writable(session, principal, customer_id)
            check_version(expected_version, row.version)
            previous_owner = row.owner_id
            owner, org_path = row.owner_id, row.org_path
            if changes.owner_id is not None and changes.owner_id != row.owner_id:
                if not changes.owner_id.strip():
                    raise ValidationFailed("name the new owner (release puts a customer in the pool)", "owner_id")
                owner, org_path = await self._resolve_owner(session, principal, changes.owner_id.strip(),
                                                            "customers:update")
            address = changes.address
            current_address = Address(row.address_text, None) if row.address_text else None
            merged = make_customer(
                id=row.id, created_at=row.created_at, owner_id=owner, owner_unit_path=unit_path(org_path),
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
            if owner != previous_owner:
                values.update(owner_id=owner, org_path=org_path, previous_owner_id=previous_owner, assigned_at=now)
            if address is not None:
                point = merged.address.point if merged.address else None
                values.update(address_text=merged.address.text if merged.address else None,
                              latitude=point.latitude if point else None, longitude=point.longitude if point else None)
            # The version condition makes the write itself optimistic: a concurrent writer loses here.
            try:
                result = await session.execute(update(models.Customer).where(
                    models.Customer.id == row.id, models.Customer.version == expected_version).values(**values))
            except IntegrityError:
                raise self._name_taken() from None
            if result.rowcount != 1:
                raise Conflict("customer was modified concurrently", "version")
            await session.refresh(row)
            if renamed:
                await self._write_name_keys(session, row.id, row.normalised_name)
            await self._emit_state(session, "updated", row, principal)
            if owner != previous_owner:
                await self._owner_changed(session, row, principal, previous_owner, "update")
            return row

    async def list_customers(self, principal: Principal, *, page_size: int = 50, cursor: str = "",
                             owner_id: str = "", tier: str = "", query: str = "", tag: str = "", industry: str = "",
                             unit_id: str = "", updated_since: datetime | None = None, sort: str = "",
                             ) -> tuple[list[models.Customer], str]:
        """Keyset-paged in the chosen order (newest first by default); only what the caller's
        scope shows."""
        principal.require("customers:read")
        if sort and sort not in LIST_ORDERS:
            raise ValidationFailed(f"sort must be one of {', '.join(LIST_ORDERS)}", "sort")
        stmt = select(models.Customer).where(
            models.Customer.active,
            scope_filter(principal, "customers:read", models.Customer.owner_id, models.Customer.org_path,
                         shared_with(principal)))
        if owner_id:
            stmt = stmt.where(models.Customer.owner_id == owner_id)
        if tier:
            try:
                stmt = stmt.where(models.Customer.tier == Tier(tier).value)
            except ValueError:
                raise ValidationFailed(f"tier must be one of {', '.join(t.value for t in Tier)}", "tier") from None
        name_query = parse_query(query) if query.strip() else None
        if tag.strip():
            # Tags are stored normalised as a JSON array; the JSON-encoded tag is a portable needle.
            needle = json.dumps(normalise_tag(tag))
            stmt = stmt.where(cast(models.Customer.tags, String).contains(needle, autoescape=True))
        if industry.strip():
            stmt = stmt.where(models.Customer.industry == industry.strip())
        if unit_id.strip():
            stmt = stmt.where(models.Customer.org_path.contains(f"/{unit_id.strip()}/", autoescape=True))
        if updated_since is not None:
            stmt = stmt.where(models.Customer.updated_at >= updated_since)
        async with self.reader() as session:
            if name_query is not None:
                stmt = await self._name_search(session, stmt, name_query)
            if sort in ("", "newest"):
                found = await keyset_page(session, stmt, models.Customer.id, page_size, cursor)
            else:
                column, descending = LIST_ORDERS[sort]
                found = await sorted_keyset_page(session, stmt, column, models.Customer.id, page_size, cursor,
                                                 descending=descending)
        return found.items, found.next_token

    async def check_duplicates(self, principal: Principal, legal_name: str, credit_code: str = "",
                               exclude_customer_id: str = "") -> DuplicateReport:
        # Matches name owners outside the caller's scope on purpose: the rep asks them to share.
        principal.require("customers:read")
        probe = make_customer(id="probe", legal_name=legal_name, created_at=self.clock(), owner_id=None,
                              credit_code=credit_code or None)
        async with self.reader() as session:
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
            await session.flush()
            await self._emit_contact(session, "contact_created", row, principal, stored)
            return stored

    async def list_contacts(self, principal: Principal, customer_id: str) -> list[models.Contact]:
        async with self.reader() as session:
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
            return await self.apply_share(session, principal, row, user_id, role)

    async def apply_share(self, session: AsyncSession, principal: Principal, row: models.Customer, user_id: str,
                          role: str) -> tuple[sharing.Share, ...]:
        """The sharing rules and their effects, in the caller's transaction (also behind an
        accepted share request)."""
        principal.require("customers:share")
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
        async with self.reader() as session:
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
            await self._owner_changed(session, row, principal, released.previous_owner_id, "release")
            return row

    async def list_pool(self, principal: Principal, page_size: int = 50, cursor: str = "") -> tuple[list[models.Customer], str]:
        """The pool is public to everyone holding pool:read (公海), newest release first by id."""
        principal.require("pool:read")
        stmt = select(models.Customer).where(models.Customer.active, models.Customer.owner_id.is_(None))
        async with self.sessions() as session:
            found = await keyset_page(session, stmt, models.Customer.id, page_size, cursor)
        return found.items, found.next_token

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
            calendar = await localtime.user_calendar(session, me)  # the claimant's branch calendar
            start, end = calendar.day_bounds(calendar.today(now))
            today = await session.scalar(select(func.count()).select_from(models.PoolClaim).where(
                models.PoolClaim.user_id == me, models.PoolClaim.claimed_at >= start,
                models.PoolClaim.claimed_at < end)) or 0
            pool.check_claim(pool.PoolEntry(row.id, row.owner_id, row.previous_owner_id, row.released_at), me,
                             held_count=held, claims_today=today, now=now, zone_name=calendar.zone_name,
                             policy=pool.resolve_policy(unit_path(principal.org_path),
                                                        await self._unit_policies(session), self.policy))
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
            await self._owner_changed(session, row, principal, None, "claim")
            return row

    # --- customer 360 -------------------------------------------------------------------------

    async def overview(self, principal: Principal, customer_id: str) -> Overview:
        async with self.reader() as session:
            row = await self._readable(session, principal, customer_id)
            contacts = list((await session.scalars(select(models.Contact).where(
                models.Contact.customer_id == row.id).order_by(models.Contact.id))).all())
            count, last = (await session.execute(select(
                func.coalesce(func.sum(models.RepActivity.follow_up_count), 0),
                func.max(models.RepActivity.last_follow_up_at)).where(
                models.RepActivity.customer_id == row.id))).one()
            opportunities = (await session.scalars(select(models.OpportunityFact).where(
                models.OpportunityFact.customer_id == row.id))).all()
            contracts = (await session.scalars(select(models.ContractFact).where(
                models.ContractFact.customer_id == row.id))).all()
            money = (await session.scalars(select(models.MoneyFact).where(
                models.MoneyFact.customer_id == row.id))).all()
        return Overview(
            row, contacts, int(count), last,
            sum(1 for o in opportunities if o.status == overview.OPEN_OPPORTUNITY), len(contracts),
            overview.summarise(((o.status, o.amount, o.currency) for o in opportunities),
                               ((c.status, c.total, c.currency) for c in contracts),
                               ((m.amount, m.currency) for m in money)))

    # --- merge and deactivate ----------------------------------------------------------------

    @staticmethod
    async def _as_domain(session: AsyncSession, row: models.Customer) -> domain.Customer:
        contacts = (await session.scalars(select(models.Contact).where(models.Contact.customer_id == row.id)
                                          .order_by(models.Contact.id))).all()
        point = GeoPoint(row.latitude, row.longitude) if row.latitude is not None and row.longitude is not None else None
        return domain.Customer(
            id=row.id, legal_name=row.legal_name, normalised_name=row.normalised_name, created_at=row.created_at,
            owner_id=row.owner_id, owner_unit_path=unit_path(row.org_path), credit_code=row.credit_code,
            industry=row.industry, address=Address(row.address_text, point) if row.address_text else None,
            tier=Tier(row.tier), tags=tuple(row.tags), source=row.source, version=row.version,
            contacts=tuple(domain.Contact(c.id, c.full_name, c.title, tuple(c.phones), c.email, c.is_primary)
                           for c in contacts))

    async def merge(self, principal: Principal, survivor_id: str, duplicate_ids: Sequence[str],
                    expected_version: int = 0) -> tuple[models.Customer, merge.MergePlan]:
        """Fold duplicates into the survivor: contacts move over, shares unite, the duplicates are
        deactivated, and `merged` tells pipeline, activities and contracts to re-point."""
        principal.require("customers:merge")
        if not survivor_id.strip():
            raise ValidationFailed("the surviving customer is required", "survivor_id")
        if not duplicate_ids or any(not i.strip() for i in duplicate_ids):
            raise ValidationFailed("name the customers to merge", "duplicate_ids")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            co_owned = shared_with(principal, sharing.ShareRole.CO_OWNER.value)
            survivor_row = await self._load(session, principal, survivor_id, "customers:merge", co_owned)
            check_version(expected_version or survivor_row.version, survivor_row.version)
            if len(set(duplicate_ids)) != len(duplicate_ids) or survivor_id in duplicate_ids:
                raise ValidationFailed("distinct customers other than the survivor", "duplicate_ids")
            rows = [await self._load(session, principal, i, "customers:merge", co_owned) for i in duplicate_ids]
            plan = merge.plan_merge(await self._as_domain(session, survivor_row),
                                    [await self._as_domain(session, r) for r in rows], actor_of(principal),
                                    {r.id: await self._shares(session, r.id) for r in (survivor_row, *rows)})
            # Later events about a merged id (consumed in handlers) count for the survivor; first, so
            # a handler writing facts of a merged id finishes before the facts are moved, or waits.
            await record_merge(session, survivor_row.id, plan.merged_ids, now)
            merged = plan.survivor
            point = merged.address.point if merged.address else None
            # Every record must still be at the version the plan was made from.
            for row in (survivor_row, *rows):
                values: dict[str, Any] = {"version": row.version + 1, "updated_at": now}
                if row is survivor_row:
                    values.update(
                        credit_code=merged.credit_code, industry=merged.industry, tier=merged.tier.value,
                        tags=list(merged.tags), source=merged.source, created_at=merged.created_at,
                        address_text=merged.address.text if merged.address else None,
                        latitude=point.latitude if point else None, longitude=point.longitude if point else None)
                else:
                    values["active"] = False
                result = await session.execute(update(models.Customer).where(
                    models.Customer.id == row.id, models.Customer.version == plan.expected_versions[row.id])
                    .values(**values))
                if result.rowcount != 1:
                    raise Conflict(f"customer {row.id} was modified concurrently", "version")
            for contact in merged.contacts:
                await session.execute(update(models.Contact).where(models.Contact.id == contact.id).values(
                    customer_id=survivor_row.id, is_primary=contact.primary))
            involved = [survivor_row.id, *plan.merged_ids]
            await session.execute(delete(models.Share).where(models.Share.customer_id.in_(involved)))
            session.add_all(models.Share(customer_id=survivor_row.id, user_id=sh.user_id, role=sh.role.value,
                                         created_at=now) for sh in plan.shares)
            await session.execute(delete(models.CustomerNameKey).where(
                models.CustomerNameKey.customer_id.in_(plan.merged_ids)))
            await self._repoint_facts(session, survivor_row.id, plan.merged_ids)
            await session.refresh(survivor_row)
            await self._emit(session, "merged", survivor_row, principal, CustomerMerged(
                survivor_id=survivor_row.id, merged_ids=plan.merged_ids, owner_id=survivor_row.owner_id or "",
                org_path=survivor_row.org_path))
            await self._emit_state(session, "updated", survivor_row, principal)
            return survivor_row, plan

    @staticmethod
    async def _repoint_facts(session: AsyncSession, survivor_id: str, merged_ids: Sequence[str]) -> None:
        """Our replicas of other services' facts follow the merge: producers re-point their records
        on `merged` but do not replay their history."""
        for model in (models.OpportunityFact, models.ContractFact, models.MoneyFact):
            await session.execute(update(model).where(model.customer_id.in_(merged_ids))
                                  .values(customer_id=survivor_id))
        facts = (await session.scalars(select(models.RepActivity).where(
            models.RepActivity.customer_id.in_(merged_ids)))).all()
        for fact in facts:
            target = await session.get(models.RepActivity, (survivor_id, fact.rep_id))
            if target is None:
                target = models.RepActivity(customer_id=survivor_id, rep_id=fact.rep_id, follow_up_count=0)
                session.add(target)
            target.follow_up_count = (target.follow_up_count or 0) + fact.follow_up_count
            for name, pick in (("first_follow_up_at", min), ("last_follow_up_at", max), ("first_opportunity_at", min),
                               ("last_opportunity_at", max), ("last_deal_at", max)):
                known = [v for v in (getattr(target, name), getattr(fact, name)) if v is not None]
                setattr(target, name, pick(known) if known else None)
            await session.delete(fact)

    async def deactivate(self, principal: Principal, customer_id: str, expected_version: int) -> models.Customer:
        principal.require("customers:delete")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._load(session, principal, customer_id, "customers:delete",
                                   shared_with(principal, sharing.ShareRole.CO_OWNER.value))
            check_version(expected_version, row.version)
            result = await session.execute(update(models.Customer).where(
                models.Customer.id == row.id, models.Customer.version == expected_version).values(
                active=False, version=expected_version + 1, updated_at=now))
            if result.rowcount != 1:
                raise Conflict("customer was modified concurrently", "version")
            await session.execute(delete(models.CustomerNameKey).where(models.CustomerNameKey.customer_id == row.id))
            await session.refresh(row)
            await self._emit_state(session, "deactivated", row, principal)
            return row

    # --- ownership arbitration ----------------------------------------------------------------

    async def arbitrate(self, principal: Principal, customer_ids: Sequence[str],
                        registered_name: str) -> models.Arbitration:
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
            rows = [await self._load(session, principal, i, "customers:merge",
                                     shared_with(principal, sharing.ShareRole.CO_OWNER.value)) for i in ids]
            owners = [r.owner_id for r in rows]
            if None in owners:
                raise FailedPrecondition("a customer in the public pool has no owner to arbitrate", "customer_ids")
            if len(set(owners)) != len(owners):
                raise FailedPrecondition("each customer must be held by a different rep", "customer_ids")
            first, others = rows[0], rows[1:]
            report = classify_matches(DuplicateProbe(first.normalised_name, first.credit_code, first.id), [
                CandidateCustomer(r.id, r.legal_name, r.normalised_name, r.credit_code, r.owner_id) for r in others])
            matched = {m.customer_id for m in (*report.blocking, *report.warnings)}
            if unmatched := [r.id for r in others if r.id not in matched]:
                raise FailedPrecondition(f"not near duplicates of {first.id}: {', '.join(unmatched)}", "customer_ids")
            facts = {(f.customer_id, f.rep_id): f for f in (await session.scalars(select(models.RepActivity).where(
                models.RepActivity.customer_id.in_(ids)))).all()}
            claims = []
            for r in rows:
                fact = facts.get((r.id, r.owner_id))
                claims.append(ownership.OwnershipClaim(
                    r.owner_id, r.id, r.legal_name, fact.first_follow_up_at if fact else None,
                    fact.first_opportunity_at if fact else None))
            decision = ownership.arbitrate_ownership(claims, registered_name, now)
            record = models.Arbitration(
                id=new_id(), customer_ids=ids, rep_ids=owners, registered_name=registered_name.strip(),
                winner_rep_id=decision.winner_rep_id, winner_customer_id=decision.winner_customer_id,
                rule=decision.rule.value, reason=decision.reason,
                steps=[{"rule": st.rule.value, "compared": {rep: value or "" for rep, value in st.compared},
                        "remaining": list(st.remaining)} for st in decision.steps],
                decided_by=principal.subject_id, decided_at=now)
            session.add(record)
            anchor = next((r for r in rows if r.id == decision.winner_customer_id), first)
            await self._emit(session, "arbitration_decided", anchor, principal, CustomerArbitrationDecided(
                arbitration_id=record.id, customer_ids=ids, rep_ids=owners, winner_rep_id=decision.winner_rep_id or "",
                winner_customer_id=decision.winner_customer_id or "", rule=decision.rule.value,
                reason=decision.reason))
            return record

    # --- automatic return to the pool ---------------------------------------------------------

    async def pool_scan(self) -> tuple[int, int]:
        """Return overdue customers to the pool and warn owners ahead of it: (returned, warned).
        Each customer is applied in its own transaction, conditionally, so replicas scanning at
        the same time return and warn each customer once."""
        now = self.clock()
        returned = warned = 0
        after = ""
        while True:
            async with self.sessions() as session:
                stmt = (select(models.Customer, models.RepActivity)
                        .outerjoin(models.RepActivity, and_(models.RepActivity.customer_id == models.Customer.id,
                                                            models.RepActivity.rep_id == models.Customer.owner_id))
                        .where(models.Customer.active, models.Customer.owner_id.is_not(None),
                               models.Customer.assigned_at.is_not(None), models.Customer.id > after)
                        .order_by(models.Customer.id).limit(SCAN_BATCH))
                batch = list((await session.execute(stmt)).tuples().all())
                policies = await self._unit_policies(session)
                calendars = localtime.UnitCalendars(session)
                zones = {row.owner_id: (await calendars.of_user(row.owner_id)).zone_name for row, _ in batch}
            if not batch:
                return returned, warned
            after = batch[-1][0].id
            for row, fact in batch:
                facts = pool.ActivityFacts(
                    row.id, row.owner_id, row.assigned_at,
                    fact.last_follow_up_at if fact else None, fact.last_opportunity_at if fact else None,
                    fact.last_deal_at if fact else None)
                policy = pool.resolve_policy(unit_path(row.org_path), policies, self.policy)
                zone_name = zones[row.owner_id]  # periods count on the owner's branch calendar
                if (decision := pool.due_for_return(facts, policy, now, zone_name)) is not None:
                    returned += await self._auto_return(row, decision, now)
                elif (warning := pool.due_for_warning(facts, policy, now, zone_name)) is not None:
                    warned += await self._warn(row, warning, now)

    async def _auto_return(self, row: models.Customer, decision: pool.ReturnDecision, now: datetime) -> int:
        async with self.sessions() as session, session.begin():
            # Only while the owner and his assignment are those the decision was made on.
            result = await session.execute(update(models.Customer).where(
                models.Customer.id == row.id, models.Customer.owner_id == decision.owner_id,
                models.Customer.assigned_at == row.assigned_at).values(
                owner_id=None, previous_owner_id=decision.owner_id, released_at=now, assigned_at=None,
                version=models.Customer.version + 1, updated_at=now))
            if result.rowcount != 1:
                return 0
            await session.execute(delete(models.Share).where(models.Share.customer_id == row.id))
            current = await session.get(models.Customer, row.id, populate_existing=True)
            assert current is not None
            await self._emit(session, "released_to_pool", current, None, CustomerReleasedToPool(
                customer_id=row.id, previous_owner_id=decision.owner_id, released_by="",
                reason=f"auto:{decision.rule.value}", org_path=current.org_path))
            await self._owner_changed(session, current, None, decision.owner_id, "auto_return")
        return 1

    async def _warn(self, row: models.Customer, warning: pool.ReturnWarning, now: datetime) -> int:
        try:
            async with self.sessions() as session, session.begin():
                if await session.get(models.PoolWarning, warning.idempotency_key) is not None:
                    return 0
                session.add(models.PoolWarning(key=warning.idempotency_key, customer_id=row.id, sent_at=now))
                await session.flush()  # a replica that inserted the same key first wins here
                await self._emit(session, "pool_return_warning", row, None, CustomerPoolReturnWarning(
                    customer_id=row.id, owner_id=warning.owner_id, rule=warning.rule.value,
                    due_at=warning.due_at.isoformat()))
        except IntegrityError:
            return 0
        return 1

    # --- contacts (update) ---------------------------------------------------------------------

    async def update_contact(self, principal: Principal, customer_id: str, contact_id: str, *,
                             full_name: str | None = None, title: str | None = None,
                             phones: Sequence[str] | None = None, email: str | None = None,
                             primary: bool | None = None) -> models.Contact:
        async with self.sessions() as session, session.begin():
            row = await self._writable(session, principal, customer_id)
            stored = await session.scalar(select(models.Contact).where(models.Contact.id == contact_id,
                                                                       models.Contact.customer_id == row.id))
            if stored is None:
                raise NotFound(f"contact {contact_id} of customer {customer_id} does not exist", "contact_id")
            contact = make_contact(
                stored.id, stored.full_name if full_name is None else full_name,
                title=stored.title if title is None else title or None,
                phones=stored.phones if phones is None else phones,
                email=stored.email if email is None else email or None,
                primary=stored.is_primary if primary is None else primary)
            if contact.primary and not stored.is_primary:  # the new primary contact demotes the previous one
                await session.execute(update(models.Contact).where(models.Contact.customer_id == row.id)
                                      .values(is_primary=False))
            stored.full_name, stored.title, stored.phones = contact.full_name, contact.title, list(contact.phones)
            stored.email, stored.is_primary = contact.email, contact.primary
            await session.flush()
            await self._emit_contact(session, "contact_updated", row, principal, stored)
            return stored

    # --- pool policies per org unit ------------------------------------------------------------

    async def _policy_unit(self, session: AsyncSession, principal: Principal, unit_id: str) -> str:
        """The unit's path; administering pool policies needs customers:update at subtree or all."""
        scope = principal.require("customers:update")
        if scope < Scope.SUBTREE:
            raise PermissionDenied("pool policies need customers:update at subtree or all scope")
        if not unit_id.strip():
            raise ValidationFailed("the org unit is required", "unit_id")
        path = await session.scalar(select(directory_units.c.path).where(directory_units.c.unit_id == unit_id,
                                                                          directory_units.c.active))
        if path is None:
            raise NotFound(f"org unit {unit_id} does not exist", "unit_id")
        if scope is Scope.SUBTREE and not (principal.org_path and path.startswith(principal.org_path)):
            raise PermissionDenied(f"org unit {unit_id} is outside your subtree")
        return path

    async def put_pool_policy(self, principal: Principal, unit_id: str, values: Mapping[str, int | None]) -> pool.PoolPolicy:
        policy = pool.PoolPolicy(**{name: values[name] for name in POLICY_FIELDS if name in values})
        async with self.sessions() as session, session.begin():
            await self._policy_unit(session, principal, unit_id)
            row = await session.get(models.PoolPolicyRow, unit_id)
            if row is None:
                row = models.PoolPolicyRow(unit_id=unit_id)
                session.add(row)
            for name in POLICY_FIELDS:
                setattr(row, name, getattr(policy, name))
            row.updated_by, row.updated_at = principal.subject_id, self.clock()
        return policy

    async def get_pool_policy(self, principal: Principal, unit_id: str) -> tuple[pool.PoolPolicy, str]:
        """The policy in force for the unit and the unit it comes from ("" for the default)."""
        async with self.sessions() as session:
            path = await self._policy_unit(session, principal, unit_id)
            policies = await self._unit_policies(session)
        for unit in reversed(unit_path(path)):
            if unit in policies:
                return policies[unit], unit
        return self.policy, ""

    # --- imports --------------------------------------------------------------------------------

    async def start_import(self, principal: Principal, fmt: str, spool: IO[bytes]) -> models.ImportJob:
        """Stage the file's rows (header checked first: a bad file writes nothing) and queue the
        job; the worker creates the customers."""
        principal.require("customers:create")
        fmt = imports.check_format(fmt)
        if not spool.seek(0, io.SEEK_END):
            raise ValidationFailed("the file is empty", "file")
        rows = read_rows(spool, fmt)
        try:
            return await self._stage(principal, fmt, rows)
        finally:
            rows.close()  # type: ignore[attr-defined]  # while the spool is still open

    async def _stage(self, principal: Principal, fmt: str, rows: Iterator[list[object]]) -> models.ImportJob:
        """Parsing (csv, openpyxl) is CPU work: it runs in worker threads a batch at a time while the
        inserts stay on the loop, all in one transaction, so a refused file leaves nothing behind."""
        job_id = new_id()
        header = await _off_loop(_header, rows)
        total = 0
        async with self.sessions() as session, session.begin():
            session.add(models.ImportJob(
                id=job_id, status=imports.ImportStatus.QUEUED, format=fmt, claims=principal_claims(principal),
                created_by=principal.subject_id, total=0, created_at=self.clock()))
            await session.flush()
            while batch := await _off_loop(_next_rows, rows, header):
                if total + len(batch) > imports.MAX_ROWS:
                    raise ValidationFailed(f"at most {imports.MAX_ROWS} rows per import", "file")
                await session.execute(insert(models.ImportRow), [
                    {"id": import_row_id(job_id, number), "job_id": job_id, "row_number": number, "data": values,
                     "status": imports.RowStatus.PENDING} for number, values in enumerate(batch, start=total + 1)])
                total += len(batch)
            if total == 0:
                raise ValidationFailed("the file has no data rows", "file")
            await session.execute(update(models.ImportJob).where(models.ImportJob.id == job_id).values(total=total))
        return await self._job(job_id)

    async def _job(self, job_id: str) -> models.ImportJob:
        async with self.sessions() as session:
            job = await session.get(models.ImportJob, job_id)
            assert job is not None
            return job

    async def get_import(self, principal: Principal, job_id: str, page_size: int = 50,
                         cursor: str = "") -> tuple[models.ImportJob, list[models.ImportRow], str,
                                                    dict[str, OwnerInfo]]:
        """The job (only its importer sees it) and a page of its row errors, in row order."""
        principal.require("customers:create")
        async with self.sessions() as session:
            job = await session.get(models.ImportJob, job_id)
            if job is None or job.created_by != principal.subject_id:
                raise NotFound(f"import {job_id} does not exist", "id")
            found = await keyset_page(session, select(models.ImportRow).where(
                models.ImportRow.job_id == job_id, models.ImportRow.status == imports.RowStatus.ERROR),
                models.ImportRow.id, page_size, cursor, newest_first=False)
            owners = await owners_of(session, (row.existing_owner_id or "" for row in found.items))
        return job, found.items, found.next_token, owners

    async def run_imports(self) -> int:
        """Process one batch of pending rows of each unfinished job (oldest first): rows created."""
        async with self.sessions() as session:
            jobs = (await session.scalars(select(models.ImportJob).where(
                models.ImportJob.status != imports.ImportStatus.DONE).order_by(models.ImportJob.id))).all()
        created = 0
        for job in jobs:
            while (done := await self._import_batch(job)) is not None:  # the job's batches, to its end
                created += done
        return created

    async def _import_batch(self, job: models.ImportJob) -> int | None:
        """Customers created from the next batch, in one transaction: each row in its own
        savepoint (a refused row keeps its per-row error, the others go on), the rows' outcomes
        and the job's counters commit together, so a crash leaves the whole batch pending and
        nothing half-written. Rows are claimed with SKIP LOCKED on PostgreSQL, so replicas share
        a job. None once the job has no pending row left."""
        acting = principal_from_claims(job.claims)
        async with self.sessions() as session, session.begin():
            query = (select(models.ImportRow).where(
                models.ImportRow.job_id == job.id, models.ImportRow.status == imports.RowStatus.PENDING)
                .order_by(models.ImportRow.id).limit(IMPORT_BATCH))
            if session.bind.dialect.name != "sqlite":
                query = query.with_for_update(skip_locked=True)
            pending = (await session.scalars(query)).all()
            if not pending:
                done = await session.scalar(select(func.count()).select_from(models.ImportRow).where(
                    models.ImportRow.job_id == job.id, models.ImportRow.status == imports.RowStatus.PENDING))
                if not done:
                    await session.execute(update(models.ImportJob).where(models.ImportJob.id == job.id).values(
                        status=imports.ImportStatus.DONE, finished_at=self.clock()))
                return None
            created = 0
            for staged in pending:
                outcome = await self._import_row(session, job.id, acting, staged)
                created += "customer_id" in outcome
                await session.execute(update(models.ImportRow).where(models.ImportRow.id == staged.id).values(
                    **{"status": imports.RowStatus.CREATED, **outcome}))
                await asyncio.sleep(0)  # SQLite runs on the loop: let reads in between rows
            await session.execute(update(models.ImportJob).where(models.ImportJob.id == job.id).values(
                status=imports.ImportStatus.RUNNING, processed=models.ImportJob.processed + len(pending),
                created=models.ImportJob.created + created, failed=models.ImportJob.failed + len(pending) - created))
        return created

    async def _import_row(self, session: AsyncSession, job_id: str, acting: Principal,
                          staged: models.ImportRow) -> dict[str, Any]:
        """One row under the single-create rules, in a savepoint: its outcome (the customer id,
        or the error naming the column)."""
        try:
            async with session.begin_nested():
                fields_ = imports.parse_row(staged.data)
                address = AddressInput(fields_.address, fields_.latitude, fields_.longitude) \
                    if fields_.address else None
                row, _ = await self._create(
                    session, acting, legal_name=fields_.legal_name, credit_code=fields_.credit_code,
                    industry=fields_.industry, address=address, tier=fields_.tier, tags=fields_.tags,
                    source=fields_.source, owner_id=fields_.owner_id, cap_held=True)
            return {"customer_id": row.id}
        except (ValidationFailed, AlreadyExists, PermissionDenied, FailedPrecondition, NotFound) as exc:
            return await self._row_error(session, job_id, staged.data, exc)

    async def _row_error(self, session: AsyncSession, job_id: str, data: Mapping[str, str],
                         exc: DomainError) -> dict[str, Any]:
        message, owner = exc.message, None
        if isinstance(exc, AlreadyExists):
            probe = make_customer(id="probe", legal_name=data.get("legal_name", ""), created_at=self.clock(),
                                  owner_id=None, credit_code=data.get("credit_code") or None)
            report = await self._duplicates(session, probe.normalised_name, probe.credit_code, None)
            if report.blocking:
                first = report.blocking[0]
                owner = first.owner_id
                earlier = await session.scalar(select(models.ImportRow.row_number).where(
                    models.ImportRow.job_id == job_id, models.ImportRow.customer_id == first.customer_id))
                if earlier is not None:
                    message = f"duplicate of row {earlier} of this file: {message}"
        return {"status": imports.RowStatus.ERROR, "error_column": imports.column_of(exc.field),
                "error_message": message[:1000], "existing_owner_id": owner}


IMPORT_STAGE_BATCH = 1000  # staged rows per insert (and per trip to a worker thread to parse them)
IMPORT_BATCH = 200  # rows per worker tick and job

T = TypeVar("T")


async def _off_loop(func: Callable[..., T], *args: Any) -> T:
    """asyncio.to_thread, except that a cancelled call still waits for the thread: the file's reader
    is closed afterwards, and a generator cannot be closed while a thread is inside it."""
    work = asyncio.ensure_future(asyncio.to_thread(func, *args))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait([work])
        raise


def _header(rows: Iterator[Sequence[object]]) -> tuple[str, ...]:
    return imports.check_header(next(rows, []))


def _next_rows(rows: Iterator[Sequence[object]], header: Sequence[str]) -> list[dict[str, str]]:
    """Up to IMPORT_STAGE_BATCH more non-blank rows as column → text; none at the end of the file."""
    return list(islice(filter(None, (imports.row_values(header, cells) for cells in rows)), IMPORT_STAGE_BATCH))


@lru_cache(maxsize=MAX_CANDIDATE_KEYS + 1)
def _duplicate_candidates(key_count: int) -> Select[Any]:
    """The duplicate check's query for a probe with `key_count` keys, built once and then only run
    with new parameters (building it costs more than PostgreSQL takes to run it): the exact name
    and the credit code through their indexes, and the rows sharing the most of the probe's keys
    through the key table. Each key's posting list is read up to KEY_POSTINGS rows: common grams
    (科技) would otherwise cost time in proportion to the table, while a near duplicate shares
    the rare grams too, whose lists are read whole."""
    customer, name_key = models.Customer, models.CustomerNameKey
    columns = (customer.id, customer.legal_name, customer.normalised_name, customer.credit_code, customer.owner_id)
    exact = select(*columns).where(customer.active, or_(customer.normalised_name == bindparam("name", type_=String),
                                                        customer.credit_code == bindparam("credit_code", type_=String)))
    if not key_count:
        return exact
    postings = union_all(*(select(name_key.customer_id).where(name_key.key == bindparam(f"key{index}", type_=String))
                           .limit(KEY_POSTINGS).subquery().select() for index in range(key_count))).subquery()
    shared = func.count()
    nearest = (select(postings.c.customer_id).group_by(postings.c.customer_id)
               .having(shared >= bindparam("least", type_=Integer)).order_by(shared.desc())
               .limit(MAX_CANDIDATES).subquery())
    return union(exact, select(*columns).join(nearest, nearest.c.customer_id == customer.id).where(customer.active))


def import_row_id(job_id: str, row_number: int) -> str:
    return f"{job_id}:{row_number:010d}"


def principal_claims(principal: Principal) -> dict[str, Any]:
    """What the worker acts with: the token's claims, never the token itself."""
    return {"sub": principal.subject_id, "kind": principal.kind, "unit": principal.unit_id,
            "org": principal.org_path, "roles": list(principal.roles), "name": principal.name,
            "perms": {name: scope.name.lower() for name, scope in principal.permissions.items()},
            "ipal": list(principal.ip_allowlist)}
