"""A contract as the service keeps it: the domain Contract (the version in force) with what is
recorded about it besides its terms: the unit path it is scoped by, the stored total of the
version in force, the record's version (optimistic concurrency), the approval under way, the sales
channel, custom field values, attachments and the template it was written from. Use cases hold
this; events are built from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from .amendments import ContractVersion
from .approval import ApprovalStep
from .attachments import Attachment
from .contracts import Contract
from .money import Money


@dataclass(frozen=True)
class ContractRecord:
    contract: Contract
    org_path: str
    total: Money  # the stored total of the version in force
    version: int  # the record's, bumped by every save (not the contract's revision)
    approval_kind: str | None = None
    channel: str = "direct"
    partner_id: str = ""
    custom_fields: Mapping[str, object] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    template_id: str | None = None  # the template (and its version) the contract was written from
    template_version: int | None = None

    @property
    def contract_id(self) -> str:
        return self.contract.contract_id

    @property
    def number(self) -> str:
        return self.contract.number

    @property
    def owner_id(self) -> str:
        return self.contract.owner_id

    @property
    def org_unit_id(self) -> str:
        return self.contract.org_unit_id

    @property
    def currency(self) -> str:
        return self.contract.currency

    @property
    def created_at(self) -> datetime:
        return self.contract.created_at

    def with_contract(self, contract: Contract) -> ContractRecord:
        """The record after a domain step on its contract."""
        return replace(self, contract=contract)


@dataclass(frozen=True)
class RoundStep:
    """A step of an approval round as recorded: on which contract, of which approval and round."""

    contract_id: str
    number: str
    org_path: str
    kind: str  # contract | termination | amendment
    round: int
    step: ApprovalStep


@dataclass(frozen=True)
class ContractDetail:
    """A contract as it is read: its record with what the reader sees besides: the credit its
    receipts left, the opportunity it came from, the current approval round's steps and the
    amendment proposed (under approval)."""

    record: ContractRecord
    credit: Money
    opportunity_id: str = ""
    steps: tuple[ApprovalStep, ...] = ()  # of the current (or last) approval round
    proposed: ContractVersion | None = None
    approval_started_at: datetime | None = None  # of the approval under way
