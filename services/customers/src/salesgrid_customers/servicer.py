"""Thin gRPC servicer: proto ↔ use case translation, nothing else."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid_common.auth import caller
from salesgrid_customers import models
from salesgrid_customers.domain.dedup import DuplicateMatch, DuplicateReport
from salesgrid_customers.domain.sharing import Share
from salesgrid_customers.usecases import AddressInput, CustomerChanges, CustomersUseCases

Ctx = grpc.aio.ServicerContext


def _ts(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def customer_pb(row: models.Customer) -> pb.Customer:
    address = None
    if row.address_text:
        address = pb.CustomerAddress(text=row.address_text, latitude=row.latitude, longitude=row.longitude)
    return pb.Customer(id=row.id, legal_name=row.legal_name, credit_code=row.credit_code or "",
                       industry=row.industry or "", address=address, tier=row.tier, tags=row.tags,
                       source=row.source or "", owner_id=row.owner_id or "", org_path=row.org_path,
                       version=row.version, created_at=_ts(row.created_at), updated_at=_ts(row.updated_at),
                       created_by=row.created_by)


def contact_pb(row: models.Contact) -> pb.Contact:
    return pb.Contact(id=row.id, customer_id=row.customer_id, full_name=row.full_name, title=row.title or "",
                      phones=row.phones, email=row.email or "", primary=row.is_primary)


def _matches(matches: Iterable[DuplicateMatch]) -> list[pb.DuplicateMatch]:
    return [pb.DuplicateMatch(customer_id=m.customer_id, legal_name=m.legal_name, owner_id=m.owner_id or "",
                              reason=m.reason.value, score=m.score) for m in matches]


def _shares(shares: Iterable[Share]) -> pb.ListSharesResponse:
    return pb.ListSharesResponse(shares=[pb.CustomerShare(user_id=s.user_id, role=s.role.value) for s in shares])


def _address(message: pb.CreateCustomerRequest | pb.UpdateCustomerRequest) -> AddressInput | None:
    if not message.HasField("address"):
        return None
    a = message.address
    return AddressInput(a.text, a.latitude if a.HasField("latitude") else None,
                        a.longitude if a.HasField("longitude") else None)


def _optional(message: pb.UpdateCustomerRequest, name: str) -> str | None:
    return getattr(message, name) if message.HasField(name) else None


class CustomersServicer(pb_grpc.CustomersServicer):
    def __init__(self, usecases: CustomersUseCases) -> None:
        self.uc = usecases

    async def CreateCustomer(self, request: pb.CreateCustomerRequest, context: Ctx) -> pb.CreateCustomerResponse:
        row, report = await self.uc.create_customer(
            caller(), legal_name=request.legal_name, credit_code=request.credit_code, industry=request.industry,
            address=_address(request), tier=request.tier, tags=list(request.tags), source=request.source,
            owner_id=request.owner_id)
        return pb.CreateCustomerResponse(customer=customer_pb(row), warnings=_matches(report.warnings))

    async def GetCustomer(self, request: pb.GetCustomerRequest, context: Ctx) -> pb.Customer:
        return customer_pb(await self.uc.get_customer(caller(), request.id))

    async def UpdateCustomer(self, request: pb.UpdateCustomerRequest, context: Ctx) -> pb.Customer:
        changes = CustomerChanges(
            legal_name=_optional(request, "legal_name"), credit_code=_optional(request, "credit_code"),
            industry=_optional(request, "industry"), address=_address(request), tier=_optional(request, "tier"),
            tags=list(request.tags) if request.set_tags else None, source=_optional(request, "source"))
        return customer_pb(await self.uc.update_customer(caller(), request.id, request.expected_version, changes))

    async def ListCustomers(self, request: pb.ListCustomersRequest, context: Ctx) -> pb.ListCustomersResponse:
        rows, cursor = await self.uc.list_customers(caller(), page_size=request.page_size, cursor=request.cursor,
                                                    owner_id=request.owner_id, tier=request.tier,
                                                    query=request.query)
        return pb.ListCustomersResponse(customers=[customer_pb(r) for r in rows], next_cursor=cursor)

    async def CheckDuplicates(self, request: pb.CheckDuplicatesRequest, context: Ctx) -> pb.DuplicateReport:
        report: DuplicateReport = await self.uc.check_duplicates(caller(), request.legal_name, request.credit_code,
                                                                 request.exclude_customer_id)
        return pb.DuplicateReport(blocking=_matches(report.blocking), warnings=_matches(report.warnings))

    async def AddContact(self, request: pb.AddContactRequest, context: Ctx) -> pb.Contact:
        return contact_pb(await self.uc.add_contact(caller(), request.customer_id, full_name=request.full_name,
                                                    title=request.title, phones=list(request.phones),
                                                    email=request.email, primary=request.primary))

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
        return pb.ListCustomersResponse(customers=[customer_pb(r) for r in rows], next_cursor=cursor)

    async def ClaimCustomer(self, request: pb.ClaimCustomerRequest, context: Ctx) -> pb.Customer:
        return customer_pb(await self.uc.claim(caller(), request.id))
