"""Contract amendments: proposing the next version of a contract in force, and its versions."""

from __future__ import annotations

from collections.abc import Sequence


from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import FailedPrecondition
from salesgrid_contracts.domain import amendments, contracts
from salesgrid_contracts.domain.amendments import ContractVersion

from salesgrid_contracts.stores import contracts as contract_store
from salesgrid_contracts.stores import revisions as revision_store
from salesgrid_contracts.usecases._support import (
    AttachmentInput,
    parse_day,
)
from salesgrid_contracts.domain.contract_records import ContractDetail
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
    ) -> ContractDetail:
        """Proposes the next version of a contract in force; it goes through approval on its own
        total, and the version in force stays untouched (and collectible) meanwhile."""
        principal.require("contracts:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            record = await contract_store.load(
                session, principal, contract_id, "contracts:update", lock=True, expected_version=expected_version
            )
            if record.approval_kind is not None:
                raise FailedPrecondition(f"an approval ({record.approval_kind}) is already under way", "status")
            amended = amendments.amend(
                record.contract,
                lines=await self._lines(session, record.currency, lines) if lines else None,
                start_date=parse_day(start_date, "start_date") if start_date else None,
                end_date=parse_day(end_date, "end_date") if end_date else None,
                terms=terms,
                now=now,
            )
            contracts.submit_for_approval(amended)  # at least one line and a positive total
            held = record.attachments
            revision_store.propose(
                session,
                record.contract_id,
                amended,
                [contract_store.attachment_json(a) for a in held]
                if attachment_refs is None
                else _attachments(attachment_refs),
                principal.subject_id,
                now,
            )
            record = await self._start_flow(session, principal, record, "amendment", now, amended.total.amount)
            record = await contract_store.save_record(session, record)
            await self._contract_event(session, "contract.submitted", record, principal, now)
            return await contract_store.detail(session, record)

    async def list_versions(self, principal: Principal, contract_id: str) -> list[ContractVersion]:
        """Every version of the contract, oldest first; the original one is synthesised while it
        has never been amended."""
        principal.require("contracts:read")
        async with self.sessions() as session:
            record = await contract_store.load(session, principal, contract_id, "contracts:read")
            return await revision_store.versions(session, record)
