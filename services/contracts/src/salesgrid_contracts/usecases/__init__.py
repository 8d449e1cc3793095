"""Contracts use cases: each runs in one transaction, checks the caller's permission and data
scope, applies the domain rules and writes its events to the outbox in that same transaction."""

from __future__ import annotations

from salesgrid_contracts.usecases.products import ProductsMixin
from salesgrid_contracts.usecases.amendments import AmendmentsMixin
from salesgrid_contracts.usecases.contracts import ContractsMixin, LineInput
from salesgrid_contracts.usecases.approval import ApprovalMixin
from salesgrid_contracts.usecases.approval_rules import ApprovalRulesMixin
from salesgrid_contracts.usecases.reminders import APPROVAL_REMINDER_AFTER, RemindersMixin
from salesgrid_contracts.usecases.attachments import AttachmentsMixin
from salesgrid_contracts.usecases.custom_fields import CustomFieldsMixin
from salesgrid_contracts.usecases.payments import PaymentsMixin
from salesgrid_contracts.usecases.receivables import COLLECTIBLE, ReceivablesMixin
from salesgrid_contracts.usecases._support import AttachmentInput, SYSTEM_ACTOR, parse_day
from salesgrid_contracts.domain.contract_records import ContractDetail


class ContractsUseCases(
    ProductsMixin,
    AmendmentsMixin,
    ContractsMixin,
    ApprovalMixin,
    ApprovalRulesMixin,
    RemindersMixin,
    AttachmentsMixin,
    PaymentsMixin,
    ReceivablesMixin,
    CustomFieldsMixin,
):
    """Every use case of the service: one mixin per topic, the shared helpers in _support."""


__all__ = [
    "APPROVAL_REMINDER_AFTER",
    "AttachmentInput",
    "COLLECTIBLE",
    "ContractDetail",
    "LineInput",
    "SYSTEM_ACTOR",
    "parse_day",
    "ContractsUseCases",
]
