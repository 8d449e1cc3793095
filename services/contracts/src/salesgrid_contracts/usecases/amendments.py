"""Contract amendments: proposing the next version of a contract in force, and its versions."""

from __future__ import annotations

from collections.abc import Sequence


from salesgrid_common.auth import Principal
from salesgrid_common.errors import FailedPrecondition
from salesgrid_contracts import models
from salesgrid_contracts.domain import amendments, contracts

from salesgrid_contracts.stores import contracts as contract_store
from salesgrid_contracts.stores import revisions as revision_store
from salesgrid_contracts.payloads import contract_state
from salesgrid_contracts.usecases._support import (
    AttachmentInput,
    parse_day,
)
from salesgrid_contracts.stores.contracts import ContractView
from salesgrid_contracts.usecases.contracts import ContractsMixin, LineInput, _attachments


class AmendmentsMixin(ContractsMixin):
    """ContractsUseCases: amendments and versions."""

    async def amend(
        self,
        principal: Principal,
        contract_id: str,
        *,
        lines: Sequence[LineInput],
        start_date: str,
        end_date: str,
        terms: str | None,
        expected_version: int,
        attachment_refs: Sequence[AttachmentInput] | None = None,
    ) -> ContractView:
        """Proposes the next version of a contract in force; it goes through approval on its own
        total, and the version in force stays untouched (and collectible) meanwhile."""
        principal.require("contracts:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await contract_store.load_in_scope(
                session, principal, contract_id, "contracts:update", lock=True, expected_version=expected_version
            )
            if row.approval_kind is not None:
                raise FailedPrecondition(f"an approval ({row.approval_kind}) is already under way", "status")
            current = contract_store.domain_of(await contract_store.view(session, row))
            amended = amendments.amend(
                current,
                lines=await self._lines(session, row.currency, lines) if lines else None,
                start_date=parse_day(start_date, "start_date") if start_date else None,
                end_date=parse_day(end_date, "end_date") if end_date else None,
                terms=terms,
                now=now,
            )
            contracts.submit_for_approval(amended)  # at least one line and a positive total
            revision_store.propose(
                session,
                row,
                amended,
                list(row.attachments) if attachment_refs is None else _attachments(attachment_refs),
                principal.subject_id,
                now,
            )
            await self._start_flow(session, principal, row, "amendment", now, amended.total.amount)
            contract_store.save(row)
            await self._event(session, "contract.submitted", contract_state(row), row.id, principal, row.org_path, now)
            await session.flush()
            return await contract_store.view(session, row)

    async def list_versions(self, principal: Principal, contract_id: str) -> list[models.ContractRevision]:
        """Every version of the contract, oldest first; the original one is synthesised while it
        has never been amended."""
        principal.require("contracts:read")
        async with self.sessions() as session:
            row = await contract_store.load_in_scope(session, principal, contract_id, "contracts:read")
            return await revision_store.versions(session, row)
