"""Import rows created a batch at a time, under the single-create rules.

A row the rules would simply accept costs a share of a few statements for the whole batch: the
owners are resolved once per batch, the held-customers cap is counted once per owner, the
blocking duplicate check (same normalised name or credit code as an active customer, or as an
earlier row) is one query for the batch, and the rows, their name keys and their `created` events
are inserted with one statement each. Every other row -- one the rules would refuse, or one whose
name or code is already taken, in the database or earlier in the batch -- is left to the
one-by-one path (`ImportsMixin._import_row`), which gives it exactly the outcome and message a
single create would. Near-duplicate warnings are not a refusal, so they do not matter here.

The bulk insert runs in a savepoint: should it fail (a concurrent create took a name between the
check and the insert: the unique index on active names), the savepoint is rolled back and the
whole batch takes the one-by-one path."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.custom_fields.definitions import FieldDefinition
from salesgrid_common.custom_fields.records import load_definitions
from salesgrid_common.custom_fields.values import merge_values, user_keys
from salesgrid_common.ids import new_id
from salesgrid_customers.customer_events import customer_state
from salesgrid_customers.domain import imports
from salesgrid_customers.domain.customer import Customer, Tier, make_customer
from salesgrid_customers.domain.errors import DomainError
from salesgrid_customers.stores.customers import insert_customers
from salesgrid_customers.stores.duplicates import taken_names_and_codes
from salesgrid_customers.usecases._support import (
    CUSTOMER_FIELDS,
    AddressInput,
    CustomersUseCasesBase,
    _address,
)


class StagedRow(Protocol):
    """A staged import row as the worker reads it: its id and its cells by column."""

    @property
    def id(self) -> str: ...

    @property
    def row_number(self) -> int: ...

    @property
    def data(self) -> Mapping[str, str]: ...


@dataclass
class _Accepted:
    staged_id: str
    customer: Customer


class BulkCreateMixin(CustomersUseCasesBase):
    async def _create_batch(
        self, session: AsyncSession, acting: Principal, staged_rows: Sequence[StagedRow]
    ) -> dict[str, dict[str, Any]]:
        """{staged row id: outcome} for the rows created here; the others are not in it."""
        now = self.clock()
        owners: dict[str, tuple[str, str] | None] = {}
        candidates: list[_Accepted] = []
        definitions = await load_definitions(session, CUSTOMER_FIELDS)
        for number, staged in enumerate(staged_rows):
            if number % 25 == 24:
                await asyncio.sleep(0)  # SQLite runs on the loop: let reads in between
            try:
                fields_ = imports.parse_row(staged.data)
                if fields_.owner_id not in owners:
                    try:
                        owners[fields_.owner_id] = await self._resolve_owner(session, acting, fields_.owner_id)
                    except DomainError:
                        owners[fields_.owner_id] = None
                resolved = owners[fields_.owner_id]
                if resolved is None:
                    continue
                owner, org_path = resolved
                values = merge_values(definitions, {}, fields_.custom_fields, creating=True)
                if user_keys(definitions, values):
                    continue  # user fields: the one-by-one path checks the users
                address = (
                    AddressInput(fields_.address, fields_.latitude, fields_.longitude) if fields_.address else None
                )
                customer = make_customer(
                    id=new_id(),
                    legal_name=fields_.legal_name,
                    created_at=now,
                    owner_id=owner,
                    org_path=org_path,
                    created_by=acting.subject_id,
                    credit_code=fields_.credit_code or None,
                    industry=fields_.industry or None,
                    address=_address(address),
                    tier=fields_.tier or Tier.POTENTIAL,
                    tags=fields_.tags,
                    source=fields_.source or None,
                    custom_fields=values,
                )
            except DomainError:
                continue  # refused: the one-by-one path words the error
            candidates.append(_Accepted(staged.id, customer))
        accepted = await self._without_taken_names(session, candidates)
        accepted = await self._within_caps(session, acting, accepted)
        if not accepted:
            return {}
        try:
            async with session.begin_nested():
                await self._insert_created(session, acting, accepted, now, definitions)
        except IntegrityError:
            return {}  # a concurrent create took a name: every row goes the one-by-one way
        return {a.staged_id: {"customer_id": a.customer.id} for a in accepted}

    async def _without_taken_names(self, session: AsyncSession, candidates: list[_Accepted]) -> list[_Accepted]:
        """Drop rows whose normalised name or credit code an active customer or an earlier row has."""
        names = {c.customer.normalised_name for c in candidates}
        codes = {c.customer.credit_code for c in candidates if c.customer.credit_code}
        taken_names: set[str] = set()
        taken_codes: set[str] = set()
        if candidates:
            taken_names, taken_codes = await taken_names_and_codes(session, names, codes)
        kept = []
        for candidate in candidates:
            name, code = candidate.customer.normalised_name, candidate.customer.credit_code
            if name in taken_names or (code and code in taken_codes):
                continue
            taken_names.add(name)
            if code:
                taken_codes.add(code)
            kept.append(candidate)
        return kept

    async def _within_caps(
        self, session: AsyncSession, acting: Principal, accepted: list[_Accepted]
    ) -> list[_Accepted]:
        """The importer's own customers count against his pool policy's cap on customers held:
        rows past the cap are left to the one-by-one path, which refuses them."""
        mine = [a for a in accepted if a.customer.owner_id == acting.subject_id]
        if not mine:
            return accepted
        held, cap = await self._held_and_cap(session, acting.subject_id, mine[0].customer.org_path)
        if cap is None:
            return accepted
        kept = []
        for candidate in accepted:
            if candidate.customer.owner_id == acting.subject_id:
                if held >= cap:
                    continue
                held += 1
            kept.append(candidate)
        return kept

    async def _insert_created(
        self,
        session: AsyncSession,
        acting: Principal,
        accepted: list[_Accepted],
        now: Any,
        definitions: Sequence[FieldDefinition],
    ) -> None:
        await insert_customers(session, [a.customer for a in accepted], definitions)
        await self.outbox.record_new_by(
            session,
            "customer.created",
            [(customer_state(a.customer), a.customer.id, a.customer.org_path) for a in accepted],
            acting,
            now,
        )
