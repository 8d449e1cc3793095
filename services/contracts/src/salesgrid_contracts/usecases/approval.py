"""Approval use cases: submitting a contract, deciding the step whose turn it is (a new
contract's flow, a termination request's or an amendment's) and requesting termination."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth import Principal
from salesgrid_common.errors import FailedPrecondition
from salesgrid_contracts.domain import amendments, approval, contracts

from salesgrid_contracts.stores import approvals as approval_store
from salesgrid_contracts.stores import contracts as contract_store
from salesgrid_contracts.stores import revisions as revision_store
from salesgrid_contracts.payloads import contract_state
from salesgrid_contracts.usecases._support import ContractsUseCasesBase
from salesgrid_contracts.stores.contracts import ContractView


class ApprovalMixin(ContractsUseCasesBase):
    """ContractsUseCases: approval."""

    async def _save_flow(
        self,
        session: AsyncSession,
        view: ContractView,
        flow: approval.ApprovalFlow,
        principal: Principal,
        now: datetime,
    ) -> None:
        """Stores the steps and emits approval.step_<approved|rejected> for the decided step and
        approval.step_activated for the one whose turn starts."""
        for stored, verb in approval_store.save_flow(view, flow):
            await self._step_event(session, verb, view.row, stored, principal, now)

    async def submit(self, principal: Principal, contract_id: str, expected_version: int) -> ContractView:
        principal.require("contracts:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await contract_store.load_in_scope(
                session, principal, contract_id, "contracts:update", lock=True, expected_version=expected_version
            )
            submitted = contracts.submit_for_approval(contract_store.domain_of(await contract_store.view(session, row)))
            await self._start_flow(session, principal, row, "contract", now)
            contract_store.save(row, submitted)
            await self._event(session, "contract.submitted", contract_state(row), row.id, principal, row.org_path, now)
            await session.flush()
            return await contract_store.view(session, row)

    async def decide(
        self, principal: Principal, contract_id: str, *, approve: bool, comment: str, expected_version: int
    ) -> ContractView:
        """The current approver approves or rejects the flow under way (a new contract's, or a
        termination request's); the last approval or any rejection settles the contract."""
        principal.require("contracts:approve")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await contract_store.load_locked(session, contract_id, expected_version)
            view = await contract_store.view(session, row)
            flow, kind = approval_store.flow_of(view), row.approval_kind
            if approve:
                flow = approval.approve_step(flow, principal.subject_id, now, comment or None)
            else:
                flow = approval.reject_step(flow, principal.subject_id, comment, now)
            await self._save_flow(session, view, flow, principal, now)
            contract_store.save(row)
            if flow.status is approval.FlowStatus.PENDING:
                await session.flush()
                return await contract_store.view(session, row)
            contract = contract_store.domain_of(view)
            if kind == "amendment":
                await self._settle_amendment(session, view, approve)
            elif kind == "contract":
                contract = contracts.approve(contract) if approve else contracts.reject(contract)
            elif approve:
                contract = contracts.approve_termination(contract, now)
            else:
                contract = contracts.reject_termination(contract)
            contract_store.to_row(contract, row)  # saved above, with the flow
            verb = (
                {"termination": "terminated", "amendment": "amended"}.get(kind or "", "approved")
                if approve
                else "rejected"
            )
            state = contract_state(row, comment)
            state.approval_kind = kind or ""
            approval_store.end(row)
            await self._event(session, f"contract.{verb}", state, row.id, principal, row.org_path, now)
            await session.flush()
            return await contract_store.view(session, row)

    async def request_termination(
        self, principal: Principal, contract_id: str, reason: str, expected_version: int
    ) -> ContractView:
        principal.require("contracts:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await contract_store.load_in_scope(
                session, principal, contract_id, "contracts:update", lock=True, expected_version=expected_version
            )
            if row.approval_kind is not None:
                raise FailedPrecondition(f"an approval ({row.approval_kind}) is already under way", "status")
            requested = contracts.request_termination(
                contract_store.domain_of(await contract_store.view(session, row)),
                reason=reason,
                requested_by=principal.subject_id,
                now=now,
            )
            await self._start_flow(session, principal, row, "termination", now)
            contract_store.save(row, requested)
            await session.flush()
            return await contract_store.view(session, row)

    async def _settle_amendment(self, session: AsyncSession, view: ContractView, approve: bool) -> None:
        """Approved: the version in force is kept as superseded and the proposal takes its place
        (status and signature carry over). Rejected: the proposal is kept as rejected."""
        proposed = view.proposed
        assert proposed is not None
        if not approve:
            revision_store.reject(view)
            return
        current = contract_store.domain_of(view)
        amendments.apply_amendment(
            current,
            replace(
                current,
                version=proposed.revision,
                previous_version=current.version,
                status=contracts.ContractStatus.APPROVED,
            ),
        )
        await revision_store.put_in_force(session, view)
