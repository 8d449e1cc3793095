"""Event payloads of the contracts service, each built in this one place."""

from __future__ import annotations

from salesgrid.events.v1.contracts_events_pb2 import ContractsContractState
from salesgrid_common.custom_fields.structs import struct_of
from salesgrid_contracts import models
from salesgrid_contracts.domain.money import Money


def contract_state(row: models.Contract, comment: str = "") -> ContractsContractState:
    return ContractsContractState(
        contract_id=row.id,
        number=row.number,
        customer_id=row.customer_id,
        owner_id=row.owner_id,
        org_path=row.org_path,
        currency=row.currency,
        total=str(Money(row.total, row.currency).amount),
        status=row.status,
        approval_kind=row.approval_kind or "",
        comment=comment,
        version=row.version,
        revision=row.revision,
        custom_fields=struct_of(row.custom_fields),
        channel=row.channel or "direct",
        partner_id=row.partner_id or "",
    )
