"""Contracts use cases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.channels import Attribution, attribution, parse_channel, precheck_attribution
from salesgrid_common.custom_fields.records import apply_values
from salesgrid_common.customer_merges import survivor_of
from salesgrid_common.errors import FailedPrecondition, ValidationFailed
from salesgrid_common.ids import new_id
from salesgrid_common.localtime import unit_calendar
from salesgrid_common.paging import Page
from salesgrid_contracts.domain import attachments, contracts, numbering
from salesgrid_contracts.domain.currencies import validate_currency
from salesgrid_contracts.domain.money import Money, parse_decimal, parse_money

from salesgrid_contracts.stores import contracts as contract_store
from salesgrid_contracts.stores import numbers as number_store
from salesgrid_contracts.stores import payments as payment_store
from salesgrid_contracts.stores import products as product_store
from salesgrid_contracts.stores import templates as template_store
from salesgrid_contracts.usecases._support import (
    CONTRACT_FIELDS,
    AttachmentInput,
    ContractsUseCasesBase,
    _money,
    parse_day,
)
from salesgrid_contracts.domain.contract_records import ContractDetail


@dataclass(frozen=True)
class LineInput:
    product_id: str
    quantity: str
    unit_price: str
    discount_percent: str
    description: str


def _attachments(inputs: Sequence[AttachmentInput], field: str = "attachments") -> list[dict[str, str | int]]:
    """Validated references as stored; each document once."""
    refs = [attachments.new_attachment(*item, field=f"{field}[{i}]") for i, item in enumerate(inputs)]
    attachments.check_attachments(refs, field)
    return [contract_store.attachment_json(ref) for ref in refs]


class ContractsMixin(ContractsUseCasesBase):
    """ContractsUseCases: contracts."""

    async def get_contract(self, principal: Principal, contract_id: str) -> ContractDetail:
        principal.require("contracts:read")
        async with self.sessions() as session:
            return await contract_store.read(session, principal, contract_id)

    async def list_contracts(
        self,
        principal: Principal,
        customer_id: str,
        status: str,
        page_size: int = 0,
        cursor: str = "",
        custom_fields: Mapping[str, str] | None = None,
    ) -> Page[ContractDetail]:
        principal.require("contracts:read")
        async with self.sessions() as session:
            return await contract_store.page_in_scope(
                session,
                principal,
                status=status,
                # a merged customer's id lists its survivor's contracts
                customer_id=await survivor_of(session, customer_id, writing=False) if customer_id else "",
                custom_fields=custom_fields or {},
                page_size=page_size,
                cursor=cursor,
            )

    async def _lines(
        self, session: AsyncSession, currency: str, inputs: Sequence[LineInput]
    ) -> list[contracts.ContractLine]:
        result = []
        catalogue = await product_store.by_ids(session, (item.product_id for item in inputs))  # one query
        for index, item in enumerate(inputs):
            field = f"lines[{index}]"
            product = catalogue.get(item.product_id)
            if product is None:
                raise ValidationFailed(f"unknown product {item.product_id!r}", f"{field}.product_id")
            if item.unit_price.strip():
                price = parse_money(item.unit_price, currency, f"{field}.unit_price")
            elif currency in product.prices:
                price = Money(product.prices[currency], currency)
            else:
                raise ValidationFailed(
                    f"product {product.sku} has no {currency} price; give unit_price", f"{field}.unit_price"
                )
            quantity = parse_decimal(item.quantity or "1", f"{field}.quantity")
            discount = parse_decimal(item.discount_percent or "0", f"{field}.discount_percent")
            result.append(
                contracts.new_line(
                    product, price, quantity, discount, description=item.description or None, field=field
                )
            )
        return result

    async def create_contract(
        self,
        principal: Principal,
        *,
        customer_id: str,
        branch_code: str,
        currency: str,
        start_date: str,
        end_date: str,
        terms: str,
        lines: Sequence[LineInput],
        opportunity_id: str = "",
        template_id: str = "",
        attachment_refs: Sequence[AttachmentInput] = (),
        custom_fields: Mapping[str, Any] | None = None,
        channel: str = "",
        partner_id: str = "",
    ) -> ContractDetail:
        """A draft contract, attributed to a sales channel and partner: an opportunity's own
        attribution, else the one given, checked against the partners customers' events publish."""
        principal.require("contracts:create")
        precheck_attribution(channel, partner_id)
        inherited: Attribution | None = None
        stored_attachments = _attachments(attachment_refs)
        if opportunity_id and customer_id:
            async with self.sessions() as session:  # a merged customer's id names its survivor
                customer_id = await survivor_of(session, customer_id, writing=False)
        if opportunity_id:
            customer_id, currency, lines, inherited = await self._from_opportunity(
                principal, opportunity_id, customer_id, currency, lines
            )
            given = Attribution(parse_channel(channel), partner_id.strip())
            if (channel.strip() or partner_id.strip()) and given != inherited:
                raise ValidationFailed(
                    f"the opportunity is attributed to {inherited.channel}"
                    f"{' / ' + inherited.partner_id if inherited.partner_id else ''}",
                    "channel",
                )
        validate_currency(currency)
        start, end = parse_day(start_date, "start_date"), parse_day(end_date, "end_date")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            customer_id = await survivor_of(session, customer_id)  # a merged customer's id: its survivor
            sale = inherited or await attribution(session, channel, partner_id)
            template = await template_store.load(session, template_id.strip()) if template_id.strip() else None
            terms = attachments.terms_from(template.terms if template else None, terms)
            domain_lines = await self._lines(session, currency, lines)
            calendar = await unit_calendar(session, principal.unit_id)
            key = numbering.sequence_key(branch_code.strip().upper(), now, calendar.zone_name)
            number = numbering.format_contract_number(
                key.branch_code, key.year, await number_store.next_sequence(session, key)
            )
            contract = contracts.new_contract(
                contract_id=new_id(),
                number=number,
                customer_id=customer_id,
                owner_id=principal.subject_id,
                org_unit_id=principal.unit_id or "-",
                currency=currency,
                start_date=start,
                end_date=end,
                lines=domain_lines,
                terms=terms,
                now=now,
            )
            record = await contract_store.add(
                session,
                contract,
                org_path=principal.org_path,
                opportunity_id=opportunity_id,
                attachments=stored_attachments,
                template=template,
                channel=sale.channel,
                partner_id=sale.partner_id,
                custom_fields=await apply_values(
                    session, CONTRACT_FIELDS, contract.contract_id, {}, custom_fields, creating=True
                ),
                now=now,
            )
            await self._contract_event(session, "contract.created", record, principal, now)
            return await contract_store.detail(session, record)

    async def _from_opportunity(
        self, principal: Principal, opportunity_id: str, customer_id: str, currency: str, lines: Sequence[LineInput]
    ) -> tuple[str, str, Sequence[LineInput], Attribution]:
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
        return won.customer_id, won.currency, lines, Attribution(won.channel, won.partner_id)

    async def sign(
        self, principal: Principal, contract_id: str, signed_on: str, expected_version: int
    ) -> ContractDetail:
        principal.require("contracts:update")
        now = self.clock()
        day = parse_day(signed_on, "signed_on") if signed_on else None
        async with self.sessions() as session, session.begin():
            record = await contract_store.load(
                session, principal, contract_id, "contracts:update", lock=True, expected_version=expected_version
            )
            calendar = await unit_calendar(session, record.org_unit_id)
            signed = contracts.sign(
                record.contract, day or calendar.today(now), created_on=calendar.date_of(record.created_at)
            )
            record = await contract_store.save_record(session, record.with_contract(signed))
            await self._contract_event(session, "contract.signed", record, principal, now)
            return await contract_store.detail(session, record)

    async def activate(self, principal: Principal, contract_id: str, expected_version: int) -> ContractDetail:
        principal.require("contracts:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            record = await contract_store.load(
                session, principal, contract_id, "contracts:update", lock=True, expected_version=expected_version
            )
            today = (await unit_calendar(session, record.org_unit_id)).today(now)
            record = await contract_store.save_record(
                session, record.with_contract(contracts.activate(record.contract, today))
            )
            await self._contract_event(session, "contract.activated", record, principal, now)
            return await contract_store.detail(session, record)

    async def complete(self, principal: Principal, contract_id: str, expected_version: int) -> ContractDetail:
        """active -> completed, once every instalment is paid (money still owed keeps it active)."""
        principal.require("contracts:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            record = await contract_store.load(
                session, principal, contract_id, "contracts:update", lock=True, expected_version=expected_version
            )
            if record.approval_kind is not None:
                raise FailedPrecondition(f"an approval ({record.approval_kind}) is under way", "status")
            done = contracts.complete(record.contract)
            owed = await payment_store.outstanding(session, record.contract_id)
            if owed > 0:
                raise FailedPrecondition(
                    f"{_money(owed, record.currency)} {record.currency} is still outstanding", "status"
                )
            record = await contract_store.save_record(session, record.with_contract(done))
            await self._contract_event(session, "contract.completed", record, principal, now)
            return await contract_store.detail(session, record)
