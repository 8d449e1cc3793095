"""Contracts use cases: each runs in one transaction, checks the caller's permission and data
scope, applies the domain rules and writes its events to the outbox in that same transaction."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from google.protobuf.message import Message
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.contracts_events_pb2 import (ContractsContractState, ContractsInstalmentState,
                                                     ContractsPaymentPlanSet, ContractsReceiptAllocationState,
                                                     ContractsReceiptRecorded)
from salesgrid_common.auth import Principal, scope_filter
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.directory import get_user, unit_time_zone
from salesgrid_common.errors import (AlreadyExists, Conflict, FailedPrecondition, NotFound, PermissionDenied,
                                     ValidationFailed)
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.ids import new_id
from salesgrid_contracts import models
from salesgrid_contracts.domain import approval, contracts, numbering, payments, products, receivables
from salesgrid_contracts.domain.currencies import validate_currency
from salesgrid_contracts.domain.money import Money, parse_decimal, parse_money

MAX_CHAIN = 20  # management chain depth guard (a cycle in replicated data must not loop forever)
COLLECTIBLE = ("signed", "active", "completed")


def parse_day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise ValidationFailed(f"must be a date such as 2026-04-01, got {text!r}", field) from None


@dataclass(frozen=True)
class LineInput:
    product_id: str
    quantity: str
    unit_price: str
    discount_percent: str
    description: str


@dataclass(frozen=True)
class ContractView:
    row: models.Contract
    lines: list[models.ContractLine]
    steps: list[models.ApprovalStepRow]


@dataclass(frozen=True)
class ReceiptView:
    row: models.ReceiptRow
    allocations: list[models.ReceiptAllocationRow]


@dataclass(frozen=True)
class PlanView:
    contract: models.Contract
    instalments: list[models.InstalmentRow]


def _money(amount: Decimal, currency: str) -> str:
    return str(Money(amount, currency).amount)


class ContractsUseCases:
    def __init__(self, sessions: SessionFactory, outbox: Outbox, clock: Clock) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.clock = clock

    async def _event(self, session: AsyncSession, verb: str, payload: Message, aggregate_id: str,
                     principal: Principal, org_path: str, now: datetime) -> None:
        await self.outbox.record(session, f"salesgrid.contracts.{verb}", payload,
                                 EventMeta(aggregate_id=aggregate_id, actor_id=principal.subject_id,
                                           org_path=org_path, actor_ip=principal.client_ip), now)

    # --- products ---------------------------------------------------------------------------

    async def create_product(self, principal: Principal, sku: str, name: str,
                             prices: Sequence[tuple[str, str]]) -> models.Product:
        principal.require("products:create")
        product_id = new_id()
        product = products.new_product(product_id, sku, name)
        price_map: dict[str, str] = {}
        for index, (currency, amount) in enumerate(prices):
            validate_currency(currency, f"prices[{index}].currency")
            if currency in price_map:
                raise ValidationFailed(f"{currency} is priced twice", f"prices[{index}].currency")
            price_map[currency] = str(parse_money(amount, currency, f"prices[{index}].amount").amount)
        async with self.sessions() as session, session.begin():
            if await session.scalar(select(models.Product.id).where(models.Product.sku == product.sku)):
                raise AlreadyExists(f"a product with SKU {product.sku} exists", "sku")
            row = models.Product(id=product_id, sku=product.sku, name=product.name, active=True, prices=price_map,
                                 version=1, created_at=self.clock())
            session.add(row)
        return row

    async def list_products(self, principal: Principal, include_inactive: bool) -> list[models.Product]:
        principal.require("products:read")
        query = select(models.Product).order_by(models.Product.sku)
        if not include_inactive:
            query = query.where(models.Product.active.is_(True))
        async with self.sessions() as session:
            return list(await session.scalars(query))

    # --- contracts: loading -----------------------------------------------------------------

    async def _view(self, session: AsyncSession, row: models.Contract) -> ContractView:
        lines = list(await session.scalars(select(models.ContractLine).where(
            models.ContractLine.contract_id == row.id).order_by(models.ContractLine.position)))
        steps = list(await session.scalars(select(models.ApprovalStepRow).where(
            models.ApprovalStepRow.contract_id == row.id, models.ApprovalStepRow.round == row.approval_round)
            .order_by(models.ApprovalStepRow.step_order)))
        return ContractView(row, lines, steps)

    async def _load(self, session: AsyncSession, principal: Principal, contract_id: str, permission: str,
                    *, lock: bool = False, expected_version: int = 0) -> models.Contract:
        query = select(models.Contract).where(models.Contract.id == contract_id)
        if lock:
            query = query.with_for_update()
        row = await session.scalar(query)
        if row is None or not principal.can_see("contracts:read", row.owner_id, row.org_path):
            raise NotFound(f"contract {contract_id} not found", "id")
        if permission != "contracts:read" and not principal.can_see(permission, row.owner_id, row.org_path):
            raise PermissionDenied(f"{permission} does not cover this contract")
        if expected_version and expected_version != row.version:
            raise Conflict(f"contract {row.number} is at version {row.version}, not {expected_version}", "version")
        return row

    @staticmethod
    def _domain(view: ContractView) -> contracts.Contract:
        row = view.row
        lines = tuple(contracts.ContractLine(line.product_id, line.description, line.quantity,
                                             Money(line.unit_price, row.currency), line.discount_percent)
                      for line in view.lines)
        termination = None
        if row.termination_reason is not None and row.termination_requested_at is not None:
            termination = contracts.TerminationRequest(row.termination_reason, row.termination_requested_by or "",
                                                       row.termination_requested_at)
        return contracts.Contract(
            contract_id=row.id, number=row.number, version=1, customer_id=row.customer_id, owner_id=row.owner_id,
            org_unit_id=row.org_unit_id, currency=row.currency, start_date=row.start_date, end_date=row.end_date,
            lines=lines, terms=row.terms, status=contracts.ContractStatus(row.status), created_at=row.created_at,
            signed_on=row.signed_on, termination=termination, terminated_at=row.terminated_at)

    @staticmethod
    def _flow(view: ContractView) -> approval.ApprovalFlow:
        row = view.row
        if row.approval_kind is None or row.approval_started_at is None:
            raise FailedPrecondition("this contract has no approval under way", "status")
        steps = tuple(approval.ApprovalStep(order=s.step_order, role=s.role, approver_id=s.approver_id,
                                            status=approval.StepStatus(s.status), activated_at=s.activated_at,
                                            decided_at=s.decided_at, comment=s.comment, reminded_at=s.reminded_at)
                      for s in view.steps)
        return approval.ApprovalFlow(steps, approval.FlowStatus.PENDING, row.approval_started_at)

    def _state(self, row: models.Contract, comment: str = "") -> ContractsContractState:
        return ContractsContractState(contract_id=row.id, number=row.number, customer_id=row.customer_id,
                                      owner_id=row.owner_id, org_path=row.org_path, currency=row.currency,
                                      total=_money(row.total, row.currency), status=row.status,
                                      approval_kind=row.approval_kind or "", comment=comment, version=row.version)

    async def get_contract(self, principal: Principal, contract_id: str) -> ContractView:
        principal.require("contracts:read")
        async with self.sessions() as session:
            return await self._view(session, await self._load(session, principal, contract_id, "contracts:read"))

    async def list_contracts(self, principal: Principal, customer_id: str, status: str) -> list[ContractView]:
        principal.require("contracts:read")
        query = select(models.Contract).where(
            scope_filter(principal, "contracts:read", models.Contract.owner_id, models.Contract.org_path))
        if customer_id:
            query = query.where(models.Contract.customer_id == customer_id)
        if status:
            query = query.where(models.Contract.status == status)
        async with self.sessions() as session:
            rows = list(await session.scalars(query.order_by(models.Contract.number).limit(500)))
            return [await self._view(session, row) for row in rows]

    # --- contracts: creation and numbering --------------------------------------------------

    async def _allocate_number(self, session: AsyncSession, key: numbering.SequenceKey) -> int:
        """Next gap-free sequence of (branch, year): the counter row is locked (FOR UPDATE on
        PostgreSQL; SQLite transactions are already serialised by BEGIN IMMEDIATE) and bumped in
        the creating transaction, so a rolled-back create gives its number back."""
        insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        await session.execute(insert(models.ContractCounter).values(
            branch_code=key.branch_code, year=key.year, last_seq=0).on_conflict_do_nothing())
        counter = await session.scalar(select(models.ContractCounter).where(
            models.ContractCounter.branch_code == key.branch_code, models.ContractCounter.year == key.year)
            .with_for_update())
        assert counter is not None
        counter.last_seq = numbering.next_sequence(counter.last_seq or None)
        return counter.last_seq

    async def _lines(self, session: AsyncSession, currency: str,
                     inputs: Sequence[LineInput]) -> list[contracts.ContractLine]:
        result = []
        for index, item in enumerate(inputs):
            field = f"lines[{index}]"
            row = await session.get(models.Product, item.product_id) if item.product_id else None
            if row is None:
                raise ValidationFailed(f"unknown product {item.product_id!r}", f"{field}.product_id")
            product = products.Product(row.id, row.sku, row.name, row.active)
            if item.unit_price.strip():
                price = parse_money(item.unit_price, currency, f"{field}.unit_price")
            elif currency in row.prices:
                price = Money(Decimal(row.prices[currency]), currency)
            else:
                raise ValidationFailed(f"product {row.sku} has no {currency} price; give unit_price",
                                       f"{field}.unit_price")
            quantity = parse_decimal(item.quantity or "1", f"{field}.quantity")
            discount = parse_decimal(item.discount_percent or "0", f"{field}.discount_percent")
            result.append(contracts.new_line(product, price, quantity, discount,
                                             description=item.description or None, field=field))
        return result

    async def create_contract(self, principal: Principal, *, customer_id: str, branch_code: str, currency: str,
                              start_date: str, end_date: str, terms: str,
                              lines: Sequence[LineInput]) -> ContractView:
        principal.require("contracts:create")
        validate_currency(currency)
        start, end = parse_day(start_date, "start_date"), parse_day(end_date, "end_date")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            domain_lines = await self._lines(session, currency, lines)
            zone = await unit_time_zone(session, principal.unit_id) or "UTC"
            key = numbering.sequence_key(branch_code.strip().upper(), now, zone)
            number = numbering.format_contract_number(key.branch_code, key.year,
                                                      await self._allocate_number(session, key))
            contract = contracts.new_contract(
                contract_id=new_id(), number=number, customer_id=customer_id, owner_id=principal.subject_id,
                org_unit_id=principal.unit_id or "-", currency=currency, start_date=start, end_date=end,
                lines=domain_lines, terms=terms, now=now)
            row = models.Contract(
                id=contract.contract_id, number=contract.number, customer_id=contract.customer_id,
                owner_id=contract.owner_id, org_unit_id=contract.org_unit_id, org_path=principal.org_path,
                currency=currency, start_date=start, end_date=end, terms=terms, status=contract.status.value,
                total=contract.total.amount, credit=Decimal(0), signed_on=None, approval_kind=None,
                approval_round=0, version=1, created_at=now)
            session.add(row)
            await session.flush()
            for position, line in enumerate(contract.lines):
                session.add(models.ContractLine(
                    contract_id=row.id, position=position, product_id=line.product_id, description=line.description,
                    quantity=line.quantity, unit_price=line.unit_price.amount, discount_percent=line.discount_percent))
            await self._event(session, "contract.created", self._state(row), row.id, principal, row.org_path, now)
            await session.flush()
            return await self._view(session, row)

    # --- approval ---------------------------------------------------------------------------

    async def _chain(self, session: AsyncSession, submitter_id: str, owner_id: str) -> list[tuple[str, str]]:
        """(user id, most senior approving role) up the submitter's managers, nearest first;
        the owner is left out so nobody approves his own contract."""
        chain: list[tuple[str, str]] = []
        user = await get_user(session, submitter_id)
        seen = {submitter_id}
        while user is not None and user.manager_id and user.manager_id not in seen and len(chain) < MAX_CHAIN:
            seen.add(user.manager_id)
            user = await get_user(session, user.manager_id)
            if user is None or not user.active:
                continue
            ranked = sorted(user.roles, key=lambda r: approval.ROLE_RANK.get(r, 0))
            if user.user_id != owner_id:
                chain.append((user.user_id, ranked[-1] if ranked else ""))
        return chain

    async def _start_flow(self, session: AsyncSession, principal: Principal, row: models.Contract, kind: str,
                          now: datetime) -> None:
        chain = await self._chain(session, principal.subject_id, row.owner_id)
        rules = approval.rules_for_unit([row.org_unit_id], {}, row.currency)
        steps = approval.route_approval(Money(row.total, row.currency), rules, principal.subject_id, chain)
        flow = approval.start_approval(steps, now)
        row.approval_kind, row.approval_round, row.approval_started_at = kind, row.approval_round + 1, now
        for step in flow.steps:
            session.add(models.ApprovalStepRow(
                contract_id=row.id, round=row.approval_round, step_order=step.order, kind=kind, role=step.role,
                approver_id=step.approver_id, status=step.status.value, activated_at=step.activated_at))

    async def _save_flow(self, session: AsyncSession, view: ContractView, flow: approval.ApprovalFlow) -> None:
        by_order = {s.step_order: s for s in view.steps}
        for step in flow.steps:
            stored = by_order[step.order]
            stored.status, stored.activated_at = step.status.value, step.activated_at
            stored.decided_at, stored.comment = step.decided_at, step.comment

    async def submit(self, principal: Principal, contract_id: str, expected_version: int) -> ContractView:
        principal.require("contracts:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._load(session, principal, contract_id, "contracts:update", lock=True,
                                   expected_version=expected_version)
            submitted = contracts.submit_for_approval(self._domain(await self._view(session, row)))
            await self._start_flow(session, principal, row, "contract", now)
            row.status, row.version = submitted.status.value, row.version + 1
            await self._event(session, "contract.submitted", self._state(row), row.id, principal, row.org_path, now)
            await session.flush()
            return await self._view(session, row)

    async def decide(self, principal: Principal, contract_id: str, *, approve: bool, comment: str,
                     expected_version: int) -> ContractView:
        """The current approver approves or rejects the flow under way (a new contract's, or a
        termination request's); the last approval or any rejection settles the contract."""
        principal.require("contracts:approve")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await session.scalar(select(models.Contract).where(models.Contract.id == contract_id)
                                       .with_for_update())
            if row is None:
                raise NotFound(f"contract {contract_id} not found", "id")
            if expected_version and expected_version != row.version:
                raise Conflict(f"contract {row.number} is at version {row.version}, not {expected_version}",
                               "version")
            view = await self._view(session, row)
            flow, kind = self._flow(view), row.approval_kind
            if approve:
                flow = approval.approve_step(flow, principal.subject_id, now, comment or None)
            else:
                flow = approval.reject_step(flow, principal.subject_id, comment, now)
            await self._save_flow(session, view, flow)
            row.version += 1
            if flow.status is approval.FlowStatus.PENDING:
                return await self._view(session, row)
            contract = self._domain(view)
            if kind == "contract":
                contract = contracts.approve(contract) if approve else contracts.reject(contract)
            elif approve:
                contract = contracts.approve_termination(contract, now)
                row.terminated_at = contract.terminated_at
            else:
                contract = contracts.reject_termination(contract)
                row.termination_reason = row.termination_requested_by = row.termination_requested_at = None
            row.status = contract.status.value
            verb = "terminated" if kind == "termination" and approve else ("approved" if approve else "rejected")
            state = self._state(row, comment)
            state.approval_kind = kind or ""
            row.approval_kind = None
            await self._event(session, f"contract.{verb}", state, row.id, principal, row.org_path, now)
            await session.flush()
            return await self._view(session, row)

    async def sign(self, principal: Principal, contract_id: str, signed_on: str,
                   expected_version: int) -> ContractView:
        principal.require("contracts:update")
        now = self.clock()
        day = parse_day(signed_on, "signed_on") if signed_on else now.date()
        async with self.sessions() as session, session.begin():
            row = await self._load(session, principal, contract_id, "contracts:update", lock=True,
                                   expected_version=expected_version)
            signed = contracts.sign(self._domain(await self._view(session, row)), day)
            row.status, row.signed_on, row.version = signed.status.value, signed.signed_on, row.version + 1
            await self._event(session, "contract.signed", self._state(row), row.id, principal, row.org_path, now)
            await session.flush()
            return await self._view(session, row)

    async def request_termination(self, principal: Principal, contract_id: str, reason: str,
                                  expected_version: int) -> ContractView:
        principal.require("contracts:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._load(session, principal, contract_id, "contracts:update", lock=True,
                                   expected_version=expected_version)
            if row.approval_kind is not None:
                raise FailedPrecondition(f"an approval ({row.approval_kind}) is already under way", "status")
            requested = contracts.request_termination(self._domain(await self._view(session, row)), reason=reason,
                                                      requested_by=principal.subject_id, now=now)
            assert requested.termination is not None
            await self._start_flow(session, principal, row, "termination", now)
            row.termination_reason = requested.termination.reason
            row.termination_requested_by, row.termination_requested_at = principal.subject_id, now
            row.version += 1
            await session.flush()
            return await self._view(session, row)

    # --- payment plans and receipts ---------------------------------------------------------

    async def _instalments(self, session: AsyncSession, contract_id: str) -> list[models.InstalmentRow]:
        return list(await session.scalars(select(models.InstalmentRow).where(
            models.InstalmentRow.contract_id == contract_id).order_by(models.InstalmentRow.seq)))

    async def _resettle(self, session: AsyncSession, row: models.Contract) -> payments.Settlement:
        """Replay every receipt of the contract over its plan; stores paid amounts, credit and
        the allocations (a backdated receipt may move earlier receipts' shares)."""
        plan = await self._instalments(session, row.id)
        receipts = list(await session.scalars(select(models.ReceiptRow).where(
            models.ReceiptRow.contract_id == row.id)))
        settlement = payments.settle(
            [payments.Instalment(i.seq, i.due_date, Money(i.amount, row.currency)) for i in plan],
            [payments.Receipt(r.id, r.received_on, Money(r.amount, row.currency), payments.PaymentMethod(r.method),
                              r.reference) for r in receipts], [], row.currency)
        paid = {b.seq: b.paid.amount for b in settlement.balances}
        for instalment in plan:
            instalment.paid = paid[instalment.seq]
        row.credit = settlement.credit.amount
        if receipts:
            await session.execute(delete(models.ReceiptAllocationRow).where(
                models.ReceiptAllocationRow.receipt_id.in_([r.id for r in receipts])))
        shares: dict[tuple[str, int], Decimal] = {}
        for allocation in settlement.allocations:
            key = (allocation.source_id, allocation.instalment_seq or 0)
            shares[key] = shares.get(key, Decimal(0)) + allocation.amount.amount
        for (receipt_id, seq), amount in shares.items():
            session.add(models.ReceiptAllocationRow(receipt_id=receipt_id, instalment_seq=seq, amount=amount))
        return settlement

    async def set_payment_plan(self, principal: Principal, contract_id: str,
                               instalments: Sequence[tuple[str, str]]) -> PlanView:
        principal.require("contracts:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._load(session, principal, contract_id, "contracts:update", lock=True)
            if row.status in ("completed", "terminated"):
                raise FailedPrecondition(f"a {row.status} contract's plan cannot change", "status")
            pairs = [(parse_day(due, f"instalments[{i}].due_date"),
                      parse_money(amount, row.currency, f"instalments[{i}].amount", allow_negative=True))
                     for i, (due, amount) in enumerate(instalments)]
            plan = payments.build_payment_plan(Money(row.total, row.currency), row.start_date, pairs)
            await session.execute(delete(models.InstalmentRow).where(models.InstalmentRow.contract_id == row.id))
            for item in plan:
                session.add(models.InstalmentRow(contract_id=row.id, seq=item.seq, due_date=item.due_date,
                                                 amount=item.amount.amount, paid=Decimal(0)))
            await session.flush()
            await self._resettle(session, row)
            row.version += 1
            payload = ContractsPaymentPlanSet(contract_id=row.id, currency=row.currency, instalments=[
                ContractsInstalmentState(seq=i.seq, due_date=i.due_date.isoformat(), amount=str(i.amount.amount))
                for i in plan])
            await self._event(session, "payment_plan.set", payload, row.id, principal, row.org_path, now)
            await session.flush()
            return PlanView(row, await self._instalments(session, row.id))

    async def get_payment_plan(self, principal: Principal, contract_id: str) -> PlanView:
        principal.require("contracts:read")
        async with self.sessions() as session:
            row = await self._load(session, principal, contract_id, "contracts:read")
            return PlanView(row, await self._instalments(session, row.id))

    async def record_receipt(self, principal: Principal, *, contract_id: str, received_on: str, amount: str,
                             method: str, reference: str) -> ReceiptView:
        principal.require("payments:create")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await session.scalar(select(models.Contract).where(models.Contract.id == contract_id)
                                       .with_for_update())
            if row is None or not principal.can_see("payments:create", row.owner_id, row.org_path):
                raise NotFound(f"contract {contract_id} not found", "contract_id")
            receipt = payments.record_receipt(
                self._domain(await self._view(session, row)), receipt_id=new_id(),
                received_on=parse_day(received_on, "received_on") if received_on else now.date(),
                amount=parse_money(amount, row.currency, "amount"), method=method or "bank_transfer",
                reference=reference, today=now.date())
            stored = models.ReceiptRow(
                id=receipt.receipt_id, contract_id=row.id, owner_id=row.owner_id, org_path=row.org_path,
                received_on=receipt.received_on, amount=receipt.amount.amount, currency=row.currency,
                method=receipt.method.value, reference=receipt.reference, recorded_by=principal.subject_id,
                version=1, created_at=now)
            session.add(stored)
            await session.flush()
            await self._resettle(session, row)
            row.version += 1
            await session.flush()
            allocations = list(await session.scalars(select(models.ReceiptAllocationRow).where(
                models.ReceiptAllocationRow.receipt_id == stored.id).order_by(
                models.ReceiptAllocationRow.instalment_seq)))
            payload = ContractsReceiptRecorded(
                receipt_id=stored.id, contract_id=row.id, customer_id=row.customer_id,
                received_on=stored.received_on.isoformat(), amount=str(receipt.amount.amount), currency=row.currency,
                method=stored.method, credit=_money(row.credit, row.currency),
                allocations=[ContractsReceiptAllocationState(instalment_seq=a.instalment_seq,
                                                             amount=_money(a.amount, row.currency))
                             for a in allocations])
            await self._event(session, "receipt.recorded", payload, stored.id, principal, row.org_path, now)
            return ReceiptView(stored, allocations)

    async def list_receipts(self, principal: Principal, contract_id: str) -> list[ReceiptView]:
        principal.require("payments:read")
        query = select(models.ReceiptRow).where(
            scope_filter(principal, "payments:read", models.ReceiptRow.owner_id, models.ReceiptRow.org_path))
        if contract_id:
            query = query.where(models.ReceiptRow.contract_id == contract_id)
        async with self.sessions() as session:
            rows = list(await session.scalars(query.order_by(models.ReceiptRow.received_on).limit(500)))
            result = []
            for row in rows:
                allocations = list(await session.scalars(select(models.ReceiptAllocationRow).where(
                    models.ReceiptAllocationRow.receipt_id == row.id)))
                result.append(ReceiptView(row, allocations))
            return result

    # --- receivables ------------------------------------------------------------------------

    async def _receivable_rows(self, principal: Principal) -> list[receivables.InstalmentRow]:
        principal.require("payments:read")
        query = (select(models.InstalmentRow, models.Contract)
                 .join(models.Contract, models.Contract.id == models.InstalmentRow.contract_id)
                 .where(models.Contract.status.in_(COLLECTIBLE),
                        scope_filter(principal, "payments:read", models.Contract.owner_id, models.Contract.org_path)))
        async with self.sessions() as session:
            result = await session.execute(query)
            return [receivables.InstalmentRow(
                contract_id=c.id, customer_id=c.customer_id, owner_id=c.owner_id, instalment_seq=i.seq,
                due_date=i.due_date, amount=Money(i.amount, c.currency), paid=Money(i.paid, c.currency))
                for i, c in result.all()]

    @staticmethod
    def _group(group_by: str, *, optional: bool) -> receivables.GroupBy | None:
        if optional and not group_by:
            return None
        try:
            return receivables.GroupBy(group_by or "contract")
        except ValueError:
            raise ValidationFailed("must be contract, customer or owner", "group_by") from None

    async def outstanding(self, principal: Principal, group_by: str) -> dict[str, dict[str, Money]]:
        grouping = self._group(group_by, optional=False)
        assert grouping is not None
        return receivables.outstanding_by(await self._receivable_rows(principal), grouping)

    async def ageing(self, principal: Principal, as_of: str, group_by: str) -> tuple[date, list[receivables.AgeingLine]]:
        grouping = self._group(group_by, optional=True)
        day = parse_day(as_of, "as_of") if as_of else self.clock().date()
        return day, receivables.ageing_report(await self._receivable_rows(principal), day, grouping)
