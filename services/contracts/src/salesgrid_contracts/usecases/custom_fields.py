"""Custom field values of contracts (definitions: salesgrid_common.custom_fields, served by this
service for the `contracts` entity)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from salesgrid_common.auth.principal import Principal
from salesgrid_common.custom_fields.records import apply_values
from salesgrid_common.errors import ValidationFailed
from salesgrid_contracts.stores import contracts as contract_store
from salesgrid_contracts.usecases._support import CONTRACT_FIELDS, ContractsUseCasesBase
from salesgrid_contracts.domain.contract_records import ContractDetail


class CustomFieldsMixin(ContractsUseCasesBase):
    """ContractsUseCases: custom field values."""

    async def update_custom_fields(
        self, principal: Principal, contract_id: str, expected_version: int, custom_fields: Mapping[str, Any] | None
    ) -> ContractDetail:
        """Set (an empty value clears) custom field values in any status: they describe the
        contract, they are not its terms (those change through amendments)."""
        principal.require("contracts:update")
        if not custom_fields:
            raise ValidationFailed("give at least one custom field", "custom_fields")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            record = await contract_store.load(
                session, principal, contract_id, "contracts:update", lock=True, expected_version=expected_version
            )
            values = await apply_values(
                session, CONTRACT_FIELDS, record.contract_id, dict(record.custom_fields), custom_fields
            )
            record = await contract_store.save_record(session, replace(record, custom_fields=values))
            await session.flush()
            await self._contract_event(session, "contract.custom_fields_changed", record, principal, now)
            return await contract_store.detail(session, record)
