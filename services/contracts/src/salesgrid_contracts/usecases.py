"""Contracts use cases: each runs in one transaction, checks the caller's permission and data
scope, applies the domain rules and writes its events to the outbox in that same transaction."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from google.protobuf.message import Message
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.contracts_events_pb2 import (ContractsApprovalStep, ContractsContractState,
                                                     ContractsInstalmentOverdue, ContractsInstalmentState,
                                                     ContractsInvoiceIssued, ContractsPaymentPlanSet,
                                                     ContractsReceiptAllocationState, ContractsReceiptRecorded,
                                                     ContractsRefundRecorded)
from salesgrid_common.actors import system_actor
from salesgrid_common.approval_chain import management_chain
from salesgrid_common.auth import Principal, scope_filter
from salesgrid_common.clock import Clock
from salesgrid_common.customer_merges import survivor_of
from salesgrid_common.db import SessionFactory
from salesgrid_common.errors import (AlreadyExists, Conflict, FailedPrecondition, NotFound, PermissionDenied,
                                     ValidationFailed)
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.ids import new_id
from salesgrid_common.localtime import UnitCalendars, latest_local_date, unit_calendar
from salesgrid_common.paging import Page, keyset_page
from salesgrid_contracts import models
from salesgrid_contracts.domain import approval, attachments, contracts, numbering, payments, products, receivables
from salesgrid_contracts.domain.currencies import validate_currency
from salesgrid_contracts.domain.money import Money, parse_decimal, parse_money
from salesgrid_contracts.pipeline_client import PipelineClient

COLLECTIBLE = ("signed", "active", "completed")
APPROVAL_REMINDER_AFTER = timedelta(hours=24)  # a pending step reminds its approver after this wait
SYSTEM_ACTOR = system_actor("contracts")


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
    proposed: models.ContractRevision | None = None


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


def _line_json(line: contracts.ContractLine) -> dict[str, str]:
    return {"product_id": line.product_id, "description": line.description, "quantity": str(line.quantity),
            "unit_price": str(line.unit_price.amount), "discount_percent": str(line.discount_percent)}


# document_id, file_name, content_type, size_bytes, sha256 as the caller gave them
AttachmentInput = tuple[str, str, str, int, str]


def _attachments(inputs: Sequence[AttachmentInput], field: str = "attachments") -> list[dict[str, str | int]]:
    """Validated references as stored; each document once."""
    refs = [attachments.new_attachment(*item, field=f"{field}[{i}]") for i, item in enumerate(inputs)]
    attachments.check_attachments(refs, field)
    return [_attachment_json(ref) for ref in refs]


def _attachment_json(ref: attachments.Attachment) -> dict[str, str | int]:
    return {"document_id": ref.document_id, "file_name": ref.file_name, "content_type": ref.content_type,
            "size_bytes": ref.size_bytes, "sha256": ref.sha256}


def _stored_attachments(stored: Sequence[dict[str, str | int]]) -> tuple[attachments.Attachment, ...]:
    return tuple(attachments.Attachment(str(a["document_id"]), str(a["file_name"]), str(a["content_type"]),
                                        int(a["size_bytes"]), str(a["sha256"])) for a in stored)


class ContractsUseCases:
    def __init__(self, sessions: SessionFactory, outbox: Outbox, clock: Clock,
                 pipeline: PipelineClient | None = None) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.clock = clock
        self.pipeline = pipeline

    async def _event(self, session: AsyncSession, verb: str, payload: Message, aggregate_id: str,
                     principal: Principal | None, org_path: str, now: datetime) -> None:
        """`principal` None: the service's own scheduler acted."""
        actor, ip = (principal.subject_id, principal.client_ip) if principal else (SYSTEM_ACTOR, "")
        await self.outbox.record(session, f"salesgrid.contracts.{verb}", payload,
                                 EventMeta(aggregate_id=aggregate_id, actor_id=actor, org_path=org_path,
                                           actor_ip=ip), now)

    # --- products ---------------------------------------------------------------------------

    @staticmethod
    def _price_map(prices: Sequence[tuple[str, str]]) -> dict[str, str]:
        price_map: dict[str, str] = {}
        for index, (currency, amount) in enumerate(prices):
            validate_currency(currency, f"prices[{index}].currency")
            if currency in price_map:
                raise ValidationFailed(f"{currency} is priced twice", f"prices[{index}].currency")
            price_map[currency] = str(parse_money(amount, currency, f"prices[{index}].amount").amount)
        return price_map

    async def create_product(self, principal: Principal, sku: str, name: str,
                             prices: Sequence[tuple[str, str]]) -> models.Product:
        principal.require("products:create")
        product_id = new_id()
        product = products.new_product(product_id, sku, name)
        price_map = self._price_map(prices)
        async with self.sessions() as session, session.begin():
            if await session.scalar(select(models.Product.id).where(models.Product.sku == product.sku)):
                raise AlreadyExists(f"a product with SKU {product.sku} exists", "sku")
            row = models.Product(id=product_id, sku=product.sku, name=product.name, active=True, prices=price_map,
                                 version=1, created_at=self.clock())
            session.add(row)
        return row

    async def update_product(self, principal: Principal, product_id: str, expected_version: int, *,
                             name: str | None, prices: Sequence[tuple[str, str]] | None,
                             active: bool | None) -> models.Product:
        principal.require("products:update")
        price_map = self._price_map(prices) if prices is not None else None
        async with self.sessions() as session, session.begin():
            row = await session.get(models.Product, product_id)
            if row is None:
                raise NotFound(f"product {product_id!r} does not exist", "id")
            if expected_version and expected_version != row.version:
                raise Conflict(f"product changed since version {expected_version} (now {row.version})", "version")
            if name is not None:
                row.name = products.new_product(row.id, row.sku, name).name  # same name rules as on create
            if price_map is not None:
                row.prices = price_map
            if active is not None:
                row.active = active
            row.version += 1
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
        proposed = None
        if row.approval_kind == "amendment":
            proposed = await session.get(models.ContractRevision, (row.id, row.revision + 1))
        return ContractView(row, lines, steps, proposed)

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
            contract_id=row.id, number=row.number, version=row.revision, customer_id=row.customer_id, owner_id=row.owner_id,
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
                                      approval_kind=row.approval_kind or "", comment=comment, version=row.version,
                                      revision=row.revision)

    async def get_contract(self, principal: Principal, contract_id: str) -> ContractView:
        principal.require("contracts:read")
        async with self.sessions() as session:
            return await self._view(session, await self._load(session, principal, contract_id, "contracts:read"))

    async def list_contracts(self, principal: Principal, customer_id: str, status: str, page_size: int = 0,
                             cursor: str = "") -> Page[ContractView]:
        principal.require("contracts:read")
        query = select(models.Contract).where(
            scope_filter(principal, "contracts:read", models.Contract.owner_id, models.Contract.org_path))
        if status:
            query = query.where(models.Contract.status == status)
        async with self.sessions() as session:
            if customer_id:  # a merged customer's id lists its survivor's contracts
                query = query.where(models.Contract.customer_id == await survivor_of(session, customer_id,
                                                                                        writing=False))
            page = await keyset_page(session, query, models.Contract.id, page_size, cursor)
            return Page([await self._view(session, row) for row in page.items], page.next_token)

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
                              lines: Sequence[LineInput], opportunity_id: str = "", template_id: str = "",
                              attachment_refs: Sequence[AttachmentInput] = ()) -> ContractView:
        principal.require("contracts:create")
        stored_attachments = _attachments(attachment_refs)
        if opportunity_id and customer_id:
            async with self.sessions() as session:  # a merged customer's id names its survivor
                customer_id = await survivor_of(session, customer_id, writing=False)
        if opportunity_id:
            customer_id, currency, lines = await self._from_opportunity(principal, opportunity_id, customer_id,
                                                                        currency, lines)
        validate_currency(currency)
        start, end = parse_day(start_date, "start_date"), parse_day(end_date, "end_date")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            customer_id = await survivor_of(session, customer_id)  # a merged customer's id: its survivor
            template = await self._template(session, template_id.strip()) if template_id.strip() else None
            terms = attachments.terms_from(template.terms if template else None, terms)
            domain_lines = await self._lines(session, currency, lines)
            calendar = await unit_calendar(session, principal.unit_id)
            key = numbering.sequence_key(branch_code.strip().upper(), now, calendar.zone_name)
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
                approval_round=0, version=1, created_at=now, opportunity_id=opportunity_id or None,
                attachments=stored_attachments, template_id=template.template_id if template else None,
                template_version=template.version if template else None)
            session.add(row)
            await session.flush()
            for position, line in enumerate(contract.lines):
                session.add(models.ContractLine(
                    contract_id=row.id, position=position, product_id=line.product_id, description=line.description,
                    quantity=line.quantity, unit_price=line.unit_price.amount, discount_percent=line.discount_percent))
            await self._event(session, "contract.created", self._state(row), row.id, principal, row.org_path, now)
            await session.flush()
            return await self._view(session, row)

    async def _from_opportunity(self, principal: Principal, opportunity_id: str, customer_id: str, currency: str,
                                lines: Sequence[LineInput]) -> tuple[str, str, Sequence[LineInput]]:
        """Customer, currency and (without lines) a line at the amount, copied from a won
        opportunity in the caller's scope; what the caller gave must agree with it."""
        if self.pipeline is None:
            raise FailedPrecondition("the pipeline service is not configured", "opportunity_id")
        won = await self.pipeline.won_opportunity(principal, opportunity_id)
        if customer_id and customer_id != won.customer_id:
            raise ValidationFailed(f"the opportunity is for customer {won.customer_id}", "customer_id")
        if currency and currency != won.currency:
            raise ValidationFailed(f"the opportunity is in {won.currency}", "currency")
        if not lines:
            if not won.product_ids:
                raise ValidationFailed("the opportunity has no product: give the lines", "lines")
            lines = [LineInput(won.product_ids[0], "1", won.amount, "0", won.name)]
        return won.customer_id, won.currency, lines

    # --- approval ---------------------------------------------------------------------------

    async def _chain(self, session: AsyncSession, submitter_id: str, owner_id: str) -> list[tuple[str, str]]:
        """(user id, most senior approving role) up the submitter's managers, nearest first;
        the owner is left out so nobody approves his own contract."""
        return await management_chain(session, submitter_id, owner_id)

    async def _step_event(self, session: AsyncSession, verb: str, row: models.Contract,
                          step: models.ApprovalStepRow, principal: Principal | None, now: datetime) -> None:
        payload = ContractsApprovalStep(
            contract_id=row.id, number=row.number, approval_kind=step.kind, round=step.round,
            step_order=step.step_order, role=step.role, approver_id=step.approver_id, status=step.status,
            comment=step.comment or "")
        await self._event(session, f"approval.step_{verb}", payload, row.id, principal, row.org_path, now)

    @staticmethod
    def _rule_set(stored: models.ApprovalRuleSet) -> approval.ApprovalRules:
        return approval.ApprovalRules(stored.org_unit_id, tuple(
            approval.ApprovalRule(None if t["up_to"] is None else Money(Decimal(t["up_to"]), stored.currency),
                                  str(t["role"])) for t in stored.thresholds))

    async def _rules(self, session: AsyncSession, org_path: str, currency: str) -> approval.ApprovalRules:
        """The rules of the nearest unit on the owner's org path (own unit first) that has its own."""
        path = [unit for unit in reversed(org_path.split("/")) if unit]
        stored = list(await session.scalars(select(models.ApprovalRuleSet).where(
            models.ApprovalRuleSet.org_unit_id.in_(path))))
        return approval.rules_for_unit(path, {r.org_unit_id: self._rule_set(r) for r in stored}, currency)

    async def set_approval_rules(self, principal: Principal, org_unit_id: str, currency: str,
                                 thresholds: Sequence[tuple[str, str]]) -> approval.ApprovalRules:
        principal.require("org_units:update")
        unit = org_unit_id.strip()
        if not unit:
            raise ValidationFailed("is required", "org_unit_id")
        validate_currency(currency)
        try:
            rules = approval.ApprovalRules(unit, tuple(
                approval.ApprovalRule(parse_money(up_to, currency, f"thresholds[{i}].up_to") if up_to.strip()
                                      else None, role) for i, (up_to, role) in enumerate(thresholds)))
        except ValidationFailed as exc:  # the domain speaks of "rules", the API of "thresholds"
            raise ValidationFailed.many(
                ((field or "thresholds").replace("rules", "thresholds", 1), message)
                for field, message in (getattr(exc, "violations", None) or [(exc.field, exc.message)])) from None
        stored_thresholds: list[dict[str, str | None]] = [
            {"up_to": None if r.up_to is None else str(r.up_to.amount), "role": r.role} for r in rules.rules]
        async with self.sessions() as session, session.begin():
            stored = await session.get(models.ApprovalRuleSet, unit)
            if stored is None:
                session.add(models.ApprovalRuleSet(org_unit_id=unit, currency=currency, thresholds=stored_thresholds,
                                                   updated_by=principal.subject_id, updated_at=self.clock()))
            else:
                stored.currency, stored.thresholds = currency, stored_thresholds
                stored.updated_by, stored.updated_at = principal.subject_id, self.clock()
        return rules

    async def get_approval_rules(self, principal: Principal, org_unit_id: str) -> approval.ApprovalRules:
        """The unit's own rules, else the defaults (CNY)."""
        principal.require("org_units:read")
        async with self.sessions() as session:
            stored = await session.get(models.ApprovalRuleSet, org_unit_id)
            return self._rule_set(stored) if stored else approval.default_approval_rules(org_unit_id)

    async def _start_flow(self, session: AsyncSession, principal: Principal, row: models.Contract, kind: str,
                          now: datetime, amount: Decimal | None = None) -> None:
        """Routes the approval of `amount` (default: the contract total) up the submitter's chain."""
        chain = await self._chain(session, principal.subject_id, row.owner_id)
        rules = await self._rules(session, row.org_path, row.currency)
        steps = approval.route_approval(Money(row.total if amount is None else amount, row.currency), rules,
                                        principal.subject_id, chain)
        flow = approval.start_approval(steps, now)
        row.approval_kind, row.approval_round, row.approval_started_at = kind, row.approval_round + 1, now
        stored = [models.ApprovalStepRow(
            contract_id=row.id, round=row.approval_round, step_order=step.order, kind=kind, role=step.role,
            approver_id=step.approver_id, status=step.status.value, activated_at=step.activated_at)
            for step in flow.steps]
        session.add_all(stored)
        await self._step_event(session, "activated", row, stored[0], principal, now)

    async def _save_flow(self, session: AsyncSession, view: ContractView, flow: approval.ApprovalFlow,
                         principal: Principal, now: datetime) -> None:
        """Stores the steps and emits approval.step_<approved|rejected> for the decided step and
        approval.step_activated for the one whose turn starts."""
        by_order = {s.step_order: s for s in view.steps}
        for step in flow.steps:
            stored = by_order[step.order]
            before = (stored.status, stored.activated_at)
            stored.status, stored.activated_at = step.status.value, step.activated_at
            stored.decided_at, stored.comment = step.decided_at, step.comment
            if before[0] == "pending" and step.status.value in ("approved", "rejected"):
                await self._step_event(session, step.status.value, view.row, stored, principal, now)
            elif before[1] is None and step.activated_at is not None:
                await self._step_event(session, "activated", view.row, stored, principal, now)

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
            await self._save_flow(session, view, flow, principal, now)
            row.version += 1
            if flow.status is approval.FlowStatus.PENDING:
                await session.flush()
                return await self._view(session, row)
            contract = self._domain(view)
            if kind == "amendment":
                await self._settle_amendment(session, view, approve)
            elif kind == "contract":
                contract = contracts.approve(contract) if approve else contracts.reject(contract)
            elif approve:
                contract = contracts.approve_termination(contract, now)
                row.terminated_at = contract.terminated_at
            else:
                contract = contracts.reject_termination(contract)
                row.termination_reason = row.termination_requested_by = row.termination_requested_at = None
            row.status = contract.status.value
            verb = {"termination": "terminated", "amendment": "amended"}.get(kind or "", "approved") if approve \
                else "rejected"
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
        day = parse_day(signed_on, "signed_on") if signed_on else None
        async with self.sessions() as session, session.begin():
            row = await self._load(session, principal, contract_id, "contracts:update", lock=True,
                                   expected_version=expected_version)
            calendar = await unit_calendar(session, row.org_unit_id)
            signed = contracts.sign(self._domain(await self._view(session, row)), day or calendar.today(now),
                                    created_on=calendar.date_of(row.created_at))
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

    # --- attachments and templates ----------------------------------------------------------

    async def add_attachment(self, principal: Principal, contract_id: str, ref: AttachmentInput,
                             expected_version: int) -> ContractView:
        principal.require("contracts:update")  # before validating: no hints to those who may not
        item = attachments.new_attachment(*ref)
        return await self._change_attachments(principal, contract_id, expected_version,
                                              lambda status, held: attachments.add_attachment(status, held, item))

    async def remove_attachment(self, principal: Principal, contract_id: str, document_id: str,
                                expected_version: int) -> ContractView:
        return await self._change_attachments(
            principal, contract_id, expected_version,
            lambda status, held: attachments.remove_attachment(status, held, document_id))

    async def _change_attachments(
            self, principal: Principal, contract_id: str, expected_version: int,
            change: Callable[[str, tuple[attachments.Attachment, ...]], tuple[attachments.Attachment, ...]],
    ) -> ContractView:
        principal.require("contracts:update")
        async with self.sessions() as session, session.begin():
            row = await self._load(session, principal, contract_id, "contracts:update", lock=True,
                                   expected_version=expected_version)
            kept = change(row.status, _stored_attachments(row.attachments))
            row.attachments, row.version = [_attachment_json(a) for a in kept], row.version + 1
            await session.flush()
            return await self._view(session, row)

    @staticmethod
    async def _template(session: AsyncSession, template_id: str, version: int = 0,
                        field: str = "template_id") -> models.ContractTemplateRow:
        """The given version of a template (0: the latest)."""
        query = select(models.ContractTemplateRow).where(models.ContractTemplateRow.template_id == template_id)
        query = query.where(models.ContractTemplateRow.version == version) if version else \
            query.order_by(models.ContractTemplateRow.version.desc()).limit(1)
        row = await session.scalar(query)
        if row is None:
            raise ValidationFailed(f"unknown contract template {template_id!r}", field)
        return row

    async def set_template(self, principal: Principal, template_id: str, name: str,
                           terms: str) -> models.ContractTemplateRow:
        """A new version of the standard template; contracts made from older ones keep theirs."""
        principal.require("products:update")  # the commercial catalogue's keepers own the templates
        async with self.sessions() as session, session.begin():
            latest = await session.scalar(select(models.ContractTemplateRow).where(
                models.ContractTemplateRow.template_id == template_id.strip())
                .order_by(models.ContractTemplateRow.version.desc()).limit(1).with_for_update())
            previous = attachments.ContractTemplate(latest.template_id, latest.version, latest.name,
                                                    latest.terms) if latest else None
            template = attachments.new_template_version(template_id, name, terms, previous)
            row = models.ContractTemplateRow(template_id=template.template_id, version=template.version,
                                             name=template.name, terms=template.terms,
                                             created_by=principal.subject_id, created_at=self.clock())
            session.add(row)
        return row

    async def get_template(self, principal: Principal, template_id: str, version: int) -> models.ContractTemplateRow:
        principal.require("products:read")
        if version < 0:
            raise ValidationFailed("must be a version number (0: the latest)", "version")
        async with self.sessions() as session:
            try:
                return await self._template(session, template_id.strip(), version)
            except ValidationFailed:
                raise NotFound(f"contract template {template_id!r} not found", "template_id") from None

    # --- amendments, activation, completion -------------------------------------------------

    async def amend(self, principal: Principal, contract_id: str, *, lines: Sequence[LineInput], start_date: str,
                    end_date: str, terms: str | None, expected_version: int,
                    attachment_refs: Sequence[AttachmentInput] | None = None) -> ContractView:
        """Proposes the next version of a contract in force; it goes through approval on its own
        total, and the version in force stays untouched (and collectible) meanwhile."""
        principal.require("contracts:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._load(session, principal, contract_id, "contracts:update", lock=True,
                                   expected_version=expected_version)
            if row.approval_kind is not None:
                raise FailedPrecondition(f"an approval ({row.approval_kind}) is already under way", "status")
            current = self._domain(await self._view(session, row))
            amended = contracts.amend(
                current, lines=await self._lines(session, row.currency, lines) if lines else None,
                start_date=parse_day(start_date, "start_date") if start_date else None,
                end_date=parse_day(end_date, "end_date") if end_date else None, terms=terms, now=now)
            contracts.submit_for_approval(amended)  # at least one line and a positive total
            session.add(models.ContractRevision(
                contract_id=row.id, revision=amended.version, status="proposed", start_date=amended.start_date,
                end_date=amended.end_date, terms=amended.terms, total=amended.total.amount,
                attachments=list(row.attachments) if attachment_refs is None else _attachments(attachment_refs),
                lines=[_line_json(line) for line in amended.lines], created_by=principal.subject_id,
                created_at=now))
            await self._start_flow(session, principal, row, "amendment", now, amended.total.amount)
            row.version += 1
            await self._event(session, "contract.submitted", self._state(row), row.id, principal, row.org_path, now)
            await session.flush()
            return await self._view(session, row)

    async def _settle_amendment(self, session: AsyncSession, view: ContractView, approve: bool) -> None:
        """Approved: the version in force is kept as superseded and the proposal takes its place
        (status and signature carry over). Rejected: the proposal is kept as rejected."""
        row, proposed = view.row, view.proposed
        assert proposed is not None
        if not approve:
            proposed.status = "rejected"
            return
        current = self._domain(view)
        contracts.apply_amendment(current, replace(current, version=proposed.revision,
                                                   previous_version=current.version,
                                                   status=contracts.ContractStatus.APPROVED))
        old = await session.get(models.ContractRevision, (row.id, row.revision))
        if old is None:
            session.add(models.ContractRevision(
                contract_id=row.id, revision=row.revision, status="superseded", start_date=row.start_date,
                end_date=row.end_date, terms=row.terms, total=row.total, attachments=list(row.attachments),
                lines=[_line_json(line) for line in current.lines], created_by=row.owner_id,
                created_at=row.created_at))
        else:
            old.status = "superseded"
        proposed.status = "in_force"
        await session.execute(delete(models.ContractLine).where(models.ContractLine.contract_id == row.id))
        for position, line in enumerate(proposed.lines):
            session.add(models.ContractLine(
                contract_id=row.id, position=position, product_id=line["product_id"],
                description=line["description"], quantity=Decimal(line["quantity"]),
                unit_price=Decimal(line["unit_price"]), discount_percent=Decimal(line["discount_percent"])))
        row.start_date, row.end_date, row.terms = proposed.start_date, proposed.end_date, proposed.terms
        row.total, row.revision = proposed.total, proposed.revision
        row.attachments = list(proposed.attachments)

    async def list_versions(self, principal: Principal, contract_id: str) -> list[models.ContractRevision]:
        """Every version of the contract, oldest first; the original one is synthesised while it
        has never been amended."""
        principal.require("contracts:read")
        async with self.sessions() as session:
            row = await self._load(session, principal, contract_id, "contracts:read")
            stored = list(await session.scalars(select(models.ContractRevision).where(
                models.ContractRevision.contract_id == row.id).order_by(models.ContractRevision.revision)))
            if not any(r.revision == row.revision for r in stored):
                view = await self._view(session, row)
                stored.append(models.ContractRevision(
                    contract_id=row.id, revision=row.revision, status="in_force", start_date=row.start_date,
                    end_date=row.end_date, terms=row.terms, total=row.total, attachments=list(row.attachments),
                    lines=[_line_json(line) for line in self._domain(view).lines], created_by=row.owner_id,
                    created_at=row.created_at))
            return sorted(stored, key=lambda r: r.revision)

    async def activate(self, principal: Principal, contract_id: str, expected_version: int) -> ContractView:
        principal.require("contracts:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._load(session, principal, contract_id, "contracts:update", lock=True,
                                   expected_version=expected_version)
            today = (await unit_calendar(session, row.org_unit_id)).today(now)
            active = contracts.activate(self._domain(await self._view(session, row)), today)
            row.status, row.version = active.status.value, row.version + 1
            await self._event(session, "contract.activated", self._state(row), row.id, principal, row.org_path, now)
            await session.flush()
            return await self._view(session, row)

    async def complete(self, principal: Principal, contract_id: str, expected_version: int) -> ContractView:
        """active -> completed, once every instalment is paid (money still owed keeps it active)."""
        principal.require("contracts:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._load(session, principal, contract_id, "contracts:update", lock=True,
                                   expected_version=expected_version)
            if row.approval_kind is not None:
                raise FailedPrecondition(f"an approval ({row.approval_kind}) is under way", "status")
            done = contracts.complete(self._domain(await self._view(session, row)))
            owed = sum((i.amount - i.paid for i in await self._instalments(session, row.id)), Decimal(0))
            if owed > 0:
                raise FailedPrecondition(f"{_money(owed, row.currency)} {row.currency} is still outstanding",
                                         "status")
            row.status, row.version = done.status.value, row.version + 1
            await self._event(session, "contract.completed", self._state(row), row.id, principal, row.org_path, now)
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
                              r.reference) for r in receipts], await self._refunds(session, row), row.currency)
        paid = {b.seq: b.paid.amount for b in settlement.balances}
        for instalment in plan:
            instalment.paid = paid[instalment.seq]
        row.credit = settlement.credit.amount
        if receipts:
            await session.execute(delete(models.ReceiptAllocationRow).where(
                models.ReceiptAllocationRow.receipt_id.in_([r.id for r in receipts])))
        shares: dict[tuple[str, int], Decimal] = {}
        receipt_ids = {r.id for r in receipts}
        # Refunds take money back from credit / instalments; only receipts' shares are stored.
        for allocation in (a for a in settlement.allocations if a.source_id in receipt_ids):
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
            row = await self._payable(session, principal, contract_id)
            today = (await unit_calendar(session, row.org_unit_id)).today(now)  # the branch's calendar
            receipt = payments.record_receipt(
                self._domain(await self._view(session, row)), receipt_id=new_id(),
                received_on=parse_day(received_on, "received_on") if received_on else today,
                amount=parse_money(amount, row.currency, "amount"), method=method or "bank_transfer",
                reference=reference, today=today)
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
                method=stored.method, credit=_money(row.credit, row.currency), owner_id=row.owner_id,
                allocations=[ContractsReceiptAllocationState(instalment_seq=a.instalment_seq,
                                                             amount=_money(a.amount, row.currency))
                             for a in allocations])
            await self._event(session, "receipt.recorded", payload, stored.id, principal, row.org_path, now)
            return ReceiptView(stored, allocations)

    @staticmethod
    async def _payments_page(session: AsyncSession, principal: Principal,
                             table: type[models.ReceiptRow | models.RefundRow | models.InvoiceRow], contract_id: str,
                             page_size: int, cursor: str) -> Page:  # type: ignore[type-arg]
        """Receipts, refunds or invoices in the caller's payments scope, newest first."""
        principal.require("payments:read")
        query = select(table).where(scope_filter(principal, "payments:read", table.owner_id, table.org_path))
        if contract_id:
            query = query.where(table.contract_id == contract_id)
        return await keyset_page(session, query, table.id, page_size, cursor)

    async def list_receipts(self, principal: Principal, contract_id: str, page_size: int = 0,
                            cursor: str = "") -> Page[ReceiptView]:
        async with self.sessions() as session:
            page = await self._payments_page(session, principal, models.ReceiptRow, contract_id, page_size, cursor)
            result = []
            for row in page.items:
                allocations = list(await session.scalars(select(models.ReceiptAllocationRow).where(
                    models.ReceiptAllocationRow.receipt_id == row.id)))
                result.append(ReceiptView(row, allocations))
            return Page(result, page.next_token)

    # --- refunds and invoices ---------------------------------------------------------------

    async def _refunds(self, session: AsyncSession, row: models.Contract) -> list[payments.Refund]:
        return [payments.Refund(r.id, r.refunded_on, Money(r.amount, row.currency), r.reason)
                for r in await session.scalars(select(models.RefundRow).where(models.RefundRow.contract_id == row.id))]

    async def _payable(self, session: AsyncSession, principal: Principal, contract_id: str) -> models.Contract:
        row = await session.scalar(select(models.Contract).where(models.Contract.id == contract_id)
                                   .with_for_update())
        if row is None or not principal.can_see("payments:create", row.owner_id, row.org_path):
            raise NotFound(f"contract {contract_id} not found", "contract_id")
        return row

    async def record_refund(self, principal: Principal, *, contract_id: str, refunded_on: str, amount: str,
                            reason: str) -> models.RefundRow:
        """A refund of money received: never more than collected net of earlier refunds (also as
        of its own date, when backdated)."""
        principal.require("payments:create")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._payable(session, principal, contract_id)
            today = (await unit_calendar(session, row.org_unit_id)).today(now)
            receipts = [payments.Receipt(r.id, r.received_on, Money(r.amount, row.currency),
                                         payments.PaymentMethod(r.method), r.reference)
                        for r in await session.scalars(select(models.ReceiptRow).where(
                            models.ReceiptRow.contract_id == row.id))]
            refund = payments.record_refund(
                self._domain(await self._view(session, row)), refund_id=new_id(),
                refunded_on=parse_day(refunded_on, "refunded_on") if refunded_on else today,
                amount=parse_money(amount, row.currency, "amount", allow_negative=True), reason=reason,
                receipts=receipts, refunds=await self._refunds(session, row), today=today)
            stored = models.RefundRow(
                id=refund.refund_id, contract_id=row.id, owner_id=row.owner_id, org_path=row.org_path,
                refunded_on=refund.refunded_on, amount=refund.amount.amount, currency=row.currency,
                reason=refund.reason, recorded_by=principal.subject_id, created_at=now)
            session.add(stored)
            await session.flush()
            try:
                await self._resettle(session, row)
            except ValidationFailed as exc:  # collected in total, but not yet by the refund's date
                raise ValidationFailed(exc.message, "refunded_on") from None
            row.version += 1
            payload = ContractsRefundRecorded(
                refund_id=stored.id, contract_id=row.id, customer_id=row.customer_id,
                refunded_on=stored.refunded_on.isoformat(), amount=_money(stored.amount, row.currency),
                currency=row.currency, reason=stored.reason)
            await self._event(session, "refund.recorded", payload, stored.id, principal, row.org_path, now)
            return stored

    async def list_refunds(self, principal: Principal, contract_id: str, page_size: int = 0,
                           cursor: str = "") -> Page[models.RefundRow]:
        async with self.sessions() as session:
            return await self._payments_page(session, principal, models.RefundRow, contract_id, page_size, cursor)

    async def issue_invoice(self, principal: Principal, *, contract_id: str, number: str, amount: str,
                            issued_on: str) -> models.InvoiceRow:
        """An invoice on a contract in force (or completed); the invoiced total never exceeds the
        contract total and numbers are unique."""
        principal.require("payments:create")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._payable(session, principal, contract_id)
            today = (await unit_calendar(session, row.org_unit_id)).today(now)
            existing = [payments.Invoice(i.number, Money(i.amount, row.currency), i.issued_on,
                                         payments.InvoiceStatus(i.status))
                        for i in await session.scalars(select(models.InvoiceRow).where(
                            models.InvoiceRow.contract_id == row.id))]
            invoice = payments.issue_invoice(
                self._domain(await self._view(session, row)), existing, number=number.strip(),
                amount=parse_money(amount, row.currency, "amount", allow_negative=True),
                issued_on=parse_day(issued_on, "issued_on") if issued_on else today, today=today)
            if await session.scalar(select(models.InvoiceRow.id).where(models.InvoiceRow.number == invoice.number)):
                raise AlreadyExists(f"invoice {invoice.number} already exists", "number")
            stored = models.InvoiceRow(
                id=new_id(), contract_id=row.id, owner_id=row.owner_id, org_path=row.org_path,
                number=invoice.number, amount=invoice.amount.amount, currency=row.currency,
                issued_on=invoice.issued_on, status=invoice.status.value, recorded_by=principal.subject_id,
                created_at=now)
            session.add(stored)
            row.version += 1
            payload = ContractsInvoiceIssued(
                invoice_id=stored.id, contract_id=row.id, customer_id=row.customer_id, number=stored.number,
                amount=_money(stored.amount, row.currency), currency=row.currency,
                issued_on=stored.issued_on.isoformat())
            await self._event(session, "invoice.issued", payload, stored.id, principal, row.org_path, now)
            return stored

    async def list_invoices(self, principal: Principal, contract_id: str, page_size: int = 0,
                            cursor: str = "") -> Page[models.InvoiceRow]:
        async with self.sessions() as session:
            return await self._payments_page(session, principal, models.InvoiceRow, contract_id, page_size, cursor)

    # --- reminders (background scheduler) ---------------------------------------------------

    async def send_reminders(self, approval_timeout: timedelta = APPROVAL_REMINDER_AFTER) -> int:
        """One scheduler run on the service clock: approval.step_reminded for each pending step that
        has waited `approval_timeout` since its turn (or its last reminder), instalment.overdue once
        per unpaid instalment past its due date. Marks are written with the events, so runs are
        idempotent and concurrent replicas skip rows another one holds."""
        now = self.clock()
        sent = 0
        async with self.sessions() as session, session.begin():
            pending = (select(models.ApprovalStepRow, models.Contract)
                       .join(models.Contract, models.Contract.id == models.ApprovalStepRow.contract_id)
                       .where(models.ApprovalStepRow.status == "pending",
                              models.ApprovalStepRow.activated_at.is_not(None),
                              models.ApprovalStepRow.round == models.Contract.approval_round,
                              models.Contract.approval_kind.is_not(None))
                       .with_for_update(of=models.ApprovalStepRow, skip_locked=True))
            for step, row in (await session.execute(pending)).all():
                flow = approval.ApprovalFlow((approval.ApprovalStep(
                    order=1, role=step.role, approver_id=step.approver_id, activated_at=step.activated_at,
                    reminded_at=step.reminded_at),), approval.FlowStatus.PENDING, step.activated_at)
                if approval.reminder_due(flow, now, approval_timeout) is None:
                    continue
                step.reminded_at = now
                await self._step_event(session, "reminded", row, step, None, now)
                sent += 1
            overdue = (select(models.InstalmentRow, models.Contract)
                       .join(models.Contract, models.Contract.id == models.InstalmentRow.contract_id)
                       .where(models.Contract.status.in_(("signed", "active")),
                              models.InstalmentRow.overdue_reminded_at.is_(None),
                              # candidates: overdue somewhere on earth; each is then judged on
                              # its own branch's calendar below
                              models.InstalmentRow.due_date < latest_local_date(now))
                       .with_for_update(of=models.InstalmentRow, skip_locked=True))
            calendars = UnitCalendars(session)
            for instalment, row in (await session.execute(overdue)).all():
                if instalment.paid >= instalment.amount:
                    continue
                if instalment.due_date >= (await calendars.of_unit(row.org_unit_id)).today(now):
                    continue
                instalment.overdue_reminded_at = now
                payload = ContractsInstalmentOverdue(
                    contract_id=row.id, number=row.number, customer_id=row.customer_id, owner_id=row.owner_id,
                    seq=instalment.seq, due_date=instalment.due_date.isoformat(),
                    outstanding=_money(instalment.amount - instalment.paid, row.currency), currency=row.currency)
                await self._event(session, "instalment.overdue", payload, row.id, None, row.org_path, now)
                sent += 1
        return sent

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
                due_date=i.due_date, amount=Money(i.amount, c.currency), paid=Money(i.paid, c.currency),
                org_unit_id=c.org_unit_id)
                for i, c in result.all()]

    @staticmethod
    def _group(group_by: str, *, optional: bool) -> receivables.GroupBy | None:
        if optional and not group_by:
            return None
        try:
            return receivables.GroupBy(group_by or "contract")
        except ValueError:
            raise ValidationFailed("must be contract, customer, owner or unit", "group_by") from None

    async def outstanding(self, principal: Principal, group_by: str) -> dict[str, dict[str, Money]]:
        grouping = self._group(group_by, optional=False)
        assert grouping is not None
        return receivables.outstanding_by(await self._receivable_rows(principal), grouping)

    async def ageing(self, principal: Principal, as_of: str, group_by: str) -> tuple[date, list[receivables.AgeingLine]]:
        grouping = self._group(group_by, optional=True)
        if as_of:
            day = parse_day(as_of, "as_of")
        else:  # today on the caller's calendar
            async with self.sessions() as session:
                day = (await unit_calendar(session, principal.unit_id)).today(self.clock())
        return day, receivables.ageing_report(await self._receivable_rows(principal), day, grouping)
