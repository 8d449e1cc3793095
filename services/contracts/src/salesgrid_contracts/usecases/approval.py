"""Approval use cases: submitting a contract, deciding the step whose turn it is (a new
contract's flow, a termination request's or an amendment's) and requesting termination."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import FailedPrecondition
from salesgrid_contracts.domain import amendments, approval, contracts

from salesgrid_contracts.stores import approvals as approval_store
from salesgrid_contracts.stores import contracts as contract_store
from salesgrid_contracts.stores import revisions as revision_store
from salesgrid_contracts.usecases._support import ContractsUseCasesBase
from salesgrid_contracts.domain.contract_records import ContractDetail


class ApprovalMixin(ContractsUseCasesBase):
    """ContractsUseCases: approval."""

    async def submit(self, principal: Principal, contract_id: str, expected_version: int) -> ContractDetail:
        principal.require("contracts:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            record = await contract_store.load(
                session, principal, contract_id, "contracts:update", lock=True, expected_version=expected_version
            )
            submitted = contracts.submit_for_approval(record.contract)
            record = await self._start_flow(session, principal, record, "contract", now)
            record = await contract_store.save_record(session, record.with_contract(submitted))
            await self._contract_event(session, "contract.submitted", record, principal, now)
            return await contract_store.detail(session, record)

    async def decide(
        self, principal: Principal, contract_id: str, *, approve: bool, comment: str, expected_version: int
    ) -> ContractDetail:
        """The current approver approves or rejects the flow under way (a new contract's, or a
        termination request's); the last approval or any rejection settles the contract."""
        principal.require("contracts:approve")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            detail = await contract_store.locked_detail(session, contract_id, expected_version)
            record, flow = detail.record, approval_store.flow_of(detail)
            kind = record.approval_kind
            if approve:
                flow = approval.approve_step(flow, principal.subject_id, now, comment or None)
            else:
                flow = approval.reject_step(flow, principal.subject_id, comment, now)
            for step, happened in await approval_store.save_round(session, record.contract_id, flow):
                await self._step_event(session, happened, step, principal, now)
            if flow.status is approval.FlowStatus.PENDING:
                record = await contract_store.save_record(session, record)
                return await contract_store.detail(session, record)
            contract = record.contract
            if kind == "amendment":
                await self._settle_amendment(session, detail, approve)
                record = (await contract_store.detail(session, record)).record
                contract = record.contract
            elif kind == "contract":
                contract = contracts.approve(contract) if approve else contracts.reject(contract)
            elif approve:
                contract = contracts.approve_termination(contract, now)
            else:
                contract = contracts.reject_termination(contract)
            record = await contract_store.save_record(session, record.with_contract(contract))
            verb = (
                {"termination": "terminated", "amendment": "amended"}.get(kind or "", "approved")
                if approve
                else "rejected"
            )
            await approval_store.end_round(session, record)
            await self._contract_event(session, f"contract.{verb}", record, principal, now, comment)
            return await contract_store.detail(session, record)

    async def request_termination(
        self, principal: Principal, contract_id: str, reason: str, expected_version: int
    ) -> ContractDetail:
        principal.require("contracts:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            record = await contract_store.load(
                session, principal, contract_id, "contracts:update", lock=True, expected_version=expected_version
            )
            if record.approval_kind is not None:
                raise FailedPrecondition(f"an approval ({record.approval_kind}) is already under way", "status")
            requested = contracts.request_termination(
                record.contract, reason=reason, requested_by=principal.subject_id, now=now
            )
            record = await self._start_flow(session, principal, record, "termination", now)
            record = await contract_store.save_record(session, record.with_contract(requested))
            return await contract_store.detail(session, record)

    async def _settle_amendment(self, session: AsyncSession, detail: ContractDetail, approve: bool) -> None:
        """Approved: the version in force is kept as superseded and the proposal takes its place
        (status and signature carry over). Rejected: the proposal is kept as rejected."""
        proposed, current = detail.proposed, detail.record.contract
        assert proposed is not None
        if not approve:
            await revision_store.reject(session, current.contract_id, proposed.revision)
            return
        amendments.apply_amendment(
            current,
            replace(
                current,
                version=proposed.revision,
                previous_version=current.version,
                status=contracts.ContractStatus.APPROVED,
            ),
        )
        await revision_store.put_in_force(session, current.contract_id)
