"""Thin gRPC servicer: proto ↔ use case translation, nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any
from decimal import Decimal

import grpc
from google.protobuf.message import Message

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid_common.auth.principal import caller
from salesgrid_common.custom_fields.structs import values_from
from salesgrid_common.imports import upload
from salesgrid_common.protos import from_timestamp, to_timestamp
from salesgrid_customers.domain import imports
from salesgrid_customers.domain.dedup import DuplicateMatch, DuplicateReport
from salesgrid_customers.domain.pool import PoolPolicy
from salesgrid_customers.domain.sharing import Share
from salesgrid_customers.messages import arbitration_pb, contact_pb, customer_pb, customers_pb, import_pb
from salesgrid_customers.usecases import POLICY_FIELDS, AddressInput, CustomerChanges, CustomersUseCases

Ctx = grpc.aio.ServicerContext


def _money(totals: Mapping[str, Decimal]) -> list[pb.MoneyAmount]:
    return [pb.MoneyAmount(amount=str(amount), currency=currency) for currency, amount in sorted(totals.items())]


def _matches(matches: Iterable[DuplicateMatch]) -> list[pb.DuplicateMatch]:
    return [
        pb.DuplicateMatch(
            customer_id=m.customer_id,
            legal_name=m.legal_name,
            owner_id=m.owner_id or "",
            reason=m.reason.value,
            score=m.score,
            owner_name=m.owner.display_name if m.owner else "",
            owner_unit_id=m.owner.unit_id if m.owner else "",
            owner_unit_name=m.owner.unit_name if m.owner else "",
        )
        for m in matches
    ]


def _shares(shares: Iterable[Share]) -> pb.ListSharesResponse:
    return pb.ListSharesResponse(shares=[pb.CustomerShare(user_id=s.user_id, role=s.role.value) for s in shares])


def _address(message: pb.CreateCustomerRequest | pb.UpdateCustomerRequest) -> AddressInput | None:
    if not message.HasField("address"):
        return None
    a = message.address
    return AddressInput(
        a.text, a.latitude if a.HasField("latitude") else None, a.longitude if a.HasField("longitude") else None
    )


def policy_pb(unit_id: str, policy: PoolPolicy, source_unit_id: str) -> pb.PoolPolicy:
    return pb.PoolPolicy(
        unit_id=unit_id,
        inherited=source_unit_id != unit_id,
        source_unit_id=source_unit_id,
        **{name: getattr(policy, name) for name in POLICY_FIELDS if getattr(policy, name) is not None},
    )


def _optional(message: Message, name: str) -> Any:
    return getattr(message, name) if message.HasField(name) else None


class CustomersServicer(pb_grpc.CustomersServicer):
    def __init__(self, usecases: CustomersUseCases) -> None:
        self.uc = usecases

    async def CreateCustomer(self, request: pb.CreateCustomerRequest, context: Ctx) -> pb.CreateCustomerResponse:
        row, report = await self.uc.create_customer(
            caller(),
            legal_name=request.legal_name,
            credit_code=request.credit_code,
            industry=request.industry,
            address=_address(request),
            tier=request.tier,
            tags=list(request.tags),
            source=request.source,
            owner_id=request.owner_id,
            custom_fields=values_from(request),
        )
        return pb.CreateCustomerResponse(customer=customer_pb(row), warnings=_matches(report.warnings))

    async def GetCustomer(self, request: pb.GetCustomerRequest, context: Ctx) -> pb.Customer:
        return customer_pb(await self.uc.get_customer(caller(), request.id))

    async def UpdateCustomer(self, request: pb.UpdateCustomerRequest, context: Ctx) -> pb.Customer:
        changes = CustomerChanges(
            legal_name=_optional(request, "legal_name"),
            credit_code=_optional(request, "credit_code"),
            industry=_optional(request, "industry"),
            address=_address(request),
            tier=_optional(request, "tier"),
            tags=list(request.tags) if request.set_tags else None,
            source=_optional(request, "source"),
            owner_id=_optional(request, "owner_id"),
            custom_fields=values_from(request),
        )
        return customer_pb(await self.uc.update_customer(caller(), request.id, request.expected_version, changes))

    async def ListCustomers(self, request: pb.ListCustomersRequest, context: Ctx) -> pb.ListCustomersResponse:
        rows, cursor = await self.uc.list_customers(
            caller(),
            page_size=request.page_size,
            cursor=request.cursor,
            owner_id=request.owner_id,
            tier=request.tier,
            query=request.query,
            tag=request.tag,
            industry=request.industry,
            unit_id=request.unit_id,
            updated_since=from_timestamp(request.updated_since) if request.HasField("updated_since") else None,
            sort=request.sort,
            custom_fields=dict(request.custom_fields),
        )
        return customers_pb(rows, cursor)

    async def CheckDuplicates(self, request: pb.CheckDuplicatesRequest, context: Ctx) -> pb.DuplicateReport:
        report: DuplicateReport = await self.uc.check_duplicates(
            caller(), request.legal_name, request.credit_code, request.exclude_customer_id
        )
        return pb.DuplicateReport(blocking=_matches(report.blocking), warnings=_matches(report.warnings))

    async def AddContact(self, request: pb.AddContactRequest, context: Ctx) -> pb.Contact:
        return contact_pb(
            await self.uc.add_contact(
                caller(),
                request.customer_id,
                full_name=request.full_name,
                title=request.title,
                phones=list(request.phones),
                email=request.email,
                primary=request.primary,
                custom_fields=values_from(request),
            )
        )

    async def ListContacts(self, request: pb.ListContactsRequest, context: Ctx) -> pb.ListContactsResponse:
        rows = await self.uc.list_contacts(caller(), request.customer_id)
        return pb.ListContactsResponse(contacts=[contact_pb(r) for r in rows])

    async def ShareCustomer(self, request: pb.ShareCustomerRequest, context: Ctx) -> pb.ListSharesResponse:
        return _shares(await self.uc.share_customer(caller(), request.customer_id, request.user_id, request.role))

    async def UnshareCustomer(self, request: pb.UnshareCustomerRequest, context: Ctx) -> pb.ListSharesResponse:
        return _shares(await self.uc.unshare_customer(caller(), request.customer_id, request.user_id))

    async def ListShares(self, request: pb.ListSharesRequest, context: Ctx) -> pb.ListSharesResponse:
        return _shares(await self.uc.list_shares(caller(), request.customer_id))

    async def ReleaseCustomer(self, request: pb.ReleaseCustomerRequest, context: Ctx) -> pb.Customer:
        return customer_pb(await self.uc.release(caller(), request.id, request.reason))

    async def ListPool(self, request: pb.ListPoolRequest, context: Ctx) -> pb.ListCustomersResponse:
        rows, cursor = await self.uc.list_pool(caller(), request.page_size, request.cursor)
        return customers_pb(rows, cursor)

    async def ClaimCustomer(self, request: pb.ClaimCustomerRequest, context: Ctx) -> pb.Customer:
        return customer_pb(await self.uc.claim(caller(), request.id))

    async def Arbitrate(self, request: pb.ArbitrateRequest, context: Ctx) -> pb.ArbitrationDecision:
        return arbitration_pb(await self.uc.arbitrate(caller(), list(request.customer_ids), request.registered_name))

    async def MergeCustomers(self, request: pb.MergeCustomersRequest, context: Ctx) -> pb.MergeCustomersResponse:
        row, plan = await self.uc.merge(
            caller(), request.survivor_id, list(request.duplicate_ids), request.expected_version
        )
        return pb.MergeCustomersResponse(
            customer=customer_pb(row), merged_ids=plan.merged_ids, dropped_tags=plan.dropped_tags
        )

    async def DeactivateCustomer(self, request: pb.DeactivateCustomerRequest, context: Ctx) -> pb.Customer:
        return customer_pb(await self.uc.deactivate(caller(), request.id, request.expected_version))

    async def GetOverview(self, request: pb.GetCustomerRequest, context: Ctx) -> pb.CustomerOverview:
        view = await self.uc.overview(caller(), request.id)
        return pb.CustomerOverview(
            customer=customer_pb(view.customer),
            contacts=[contact_pb(c) for c in view.contacts],
            follow_up_count=view.follow_up_count,
            last_follow_up_at=to_timestamp(view.last_follow_up_at),
            open_opportunities=view.open_opportunities,
            open_pipeline=_money(view.money.open_pipeline),
            contracts=view.contracts,
            contracted=_money(view.money.contracted),
            collected=_money(view.money.collected),
            outstanding=_money(view.money.outstanding),
        )

    async def UpdateContact(self, request: pb.UpdateContactRequest, context: Ctx) -> pb.Contact:
        return contact_pb(
            await self.uc.update_contact(
                caller(),
                request.customer_id,
                request.contact_id,
                full_name=_optional(request, "full_name"),
                title=_optional(request, "title"),
                phones=list(request.phones) if request.set_phones else None,
                email=_optional(request, "email"),
                primary=_optional(request, "primary"),
                custom_fields=values_from(request),
            )
        )

    async def StartImport(self, request_iterator: AsyncIterator[pb.ImportChunk], context: Ctx) -> pb.ImportJob:
        with upload.spool() as spool:
            fmt = await upload.receive(request_iterator, spool, imports.MAX_FILE_BYTES)
            return import_pb(await self.uc.start_import(caller(), fmt, spool))

    async def GetImport(self, request: pb.GetImportRequest, context: Ctx) -> pb.ImportJob:
        job, errors, cursor, owners = await self.uc.get_import(caller(), request.id, request.page_size, request.cursor)
        return import_pb(job, errors, cursor, owners)

    async def PutPoolPolicy(self, request: pb.PoolPolicy, context: Ctx) -> pb.PoolPolicy:
        values = {
            name: _optional(request, name)
            for name in POLICY_FIELDS
            if name not in ("reclaim_cooldown_days", "warning_days_before")
        }
        values.update(
            reclaim_cooldown_days=request.reclaim_cooldown_days, warning_days_before=request.warning_days_before
        )
        policy = await self.uc.put_pool_policy(caller(), request.unit_id, values)
        return policy_pb(request.unit_id, policy, request.unit_id)

    async def GetPoolPolicy(self, request: pb.GetPoolPolicyRequest, context: Ctx) -> pb.PoolPolicy:
        policy, source = await self.uc.get_pool_policy(caller(), request.unit_id)
        return policy_pb(request.unit_id, policy, source)
