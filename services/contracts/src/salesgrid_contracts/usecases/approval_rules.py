"""Approval rules use cases: an org unit's own thresholds (amount -> the most senior role that
must approve), set and read within the caller's org_units scope."""

from __future__ import annotations

from collections.abc import Sequence

from salesgrid_common.auth.principal import Principal
from salesgrid_common.directory import unit_path_in_scope
from salesgrid_common.errors import ValidationFailed
from salesgrid_contracts.domain import approval
from salesgrid_contracts.domain.currencies import validate_currency
from salesgrid_contracts.domain.money import parse_money
from salesgrid_contracts.stores import approvals as approval_store
from salesgrid_contracts.usecases._support import ContractsUseCasesBase


class ApprovalRulesMixin(ContractsUseCasesBase):
    """ContractsUseCases: approval rules."""

    async def set_approval_rules(
        self, principal: Principal, org_unit_id: str, currency: str, thresholds: Sequence[tuple[str, str]]
    ) -> approval.ApprovalRules:
        principal.require("org_units:update")
        unit = org_unit_id.strip()
        if not unit:
            raise ValidationFailed("is required", "org_unit_id")
        validate_currency(currency)
        try:
            rules = approval.ApprovalRules(
                unit,
                tuple(
                    approval.ApprovalRule(
                        parse_money(up_to, currency, f"thresholds[{i}].up_to") if up_to.strip() else None, role
                    )
                    for i, (up_to, role) in enumerate(thresholds)
                ),
            )
        except ValidationFailed as exc:  # the domain speaks of "rules", the API of "thresholds"
            raise ValidationFailed.many(
                ((field or "thresholds").replace("rules", "thresholds", 1), message)
                for field, message in (getattr(exc, "violations", None) or [(exc.field, exc.message)])
            ) from None
        async with self.sessions() as session, session.begin():
            await unit_path_in_scope(session, principal, unit, "org_units:update", "org_unit_id")
            await approval_store.save_rules(session, rules, currency, principal.subject_id, self.clock())
        return rules

    async def get_approval_rules(self, principal: Principal, org_unit_id: str) -> approval.ApprovalRules:
        """The unit's own rules, else the defaults (CNY)."""
        principal.require("org_units:read")
        async with self.sessions() as session:
            await unit_path_in_scope(session, principal, org_unit_id, "org_units:read", "org_unit_id")
            own = await approval_store.own_rules(session, org_unit_id)
            return own or approval.default_approval_rules(org_unit_id)
