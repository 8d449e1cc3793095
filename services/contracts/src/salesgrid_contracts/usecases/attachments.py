"""Attachments use cases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace


from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import NotFound, ValidationFailed
from salesgrid_contracts.domain import attachments

from salesgrid_contracts.stores import contracts as contract_store
from salesgrid_contracts.stores import templates as template_store
from salesgrid_contracts.usecases._support import AttachmentInput, ContractsUseCasesBase
from salesgrid_contracts.domain.contract_records import ContractDetail


class AttachmentsMixin(ContractsUseCasesBase):
    """ContractsUseCases: attachments."""

    async def add_attachment(
        self, principal: Principal, contract_id: str, ref: AttachmentInput, expected_version: int
    ) -> ContractDetail:
        principal.require("contracts:update")  # before validating: no hints to those who may not
        item = attachments.new_attachment(*ref)
        return await self._change_attachments(
            principal,
            contract_id,
            expected_version,
            lambda status, held: attachments.add_attachment(status, held, item),
        )

    async def remove_attachment(
        self, principal: Principal, contract_id: str, document_id: str, expected_version: int
    ) -> ContractDetail:
        return await self._change_attachments(
            principal,
            contract_id,
            expected_version,
            lambda status, held: attachments.remove_attachment(status, held, document_id),
        )

    async def _change_attachments(
        self,
        principal: Principal,
        contract_id: str,
        expected_version: int,
        change: Callable[[str, tuple[attachments.Attachment, ...]], tuple[attachments.Attachment, ...]],
    ) -> ContractDetail:
        principal.require("contracts:update")
        async with self.sessions() as session, session.begin():
            record = await contract_store.load(
                session, principal, contract_id, "contracts:update", lock=True, expected_version=expected_version
            )
            held = change(record.contract.status.value, record.attachments)
            record = await contract_store.save_record(session, replace(record, attachments=held))
            return await contract_store.detail(session, record)

    async def set_template(
        self, principal: Principal, template_id: str, name: str, terms: str
    ) -> attachments.ContractTemplate:
        """A new version of the standard template; contracts made from older ones keep theirs."""
        principal.require("products:update")  # the commercial catalogue's keepers own the templates
        async with self.sessions() as session, session.begin():
            previous = await template_store.latest(session, template_id.strip(), lock=True)
            template = replace(
                attachments.new_template_version(template_id, name, terms, previous),
                created_by=principal.subject_id,
                created_at=self.clock(),
            )
            template_store.add(session, template)
        return template

    async def get_template(self, principal: Principal, template_id: str, version: int) -> attachments.ContractTemplate:
        principal.require("products:read")
        if version < 0:
            raise ValidationFailed("must be a version number (0: the latest)", "version")
        async with self.sessions() as session:
            try:
                return await template_store.load(session, template_id.strip(), version)
            except ValidationFailed:
                raise NotFound(f"contract template {template_id!r} not found", "template_id") from None
