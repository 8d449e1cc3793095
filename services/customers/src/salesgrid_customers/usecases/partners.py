"""Channel partners (渠道伙伴): making an account an agent or distributor with its own partner
tier and partner agreement, and listing partners within the caller's scope. The profile travels
in the customer's `updated` event, from which pipeline and contracts keep their replicas."""

from __future__ import annotations

from dataclasses import replace

from salesgrid_common.auth.principal import Principal
from salesgrid_common.channels import PARTNER_CHANNELS, PARTNER_TIERS
from salesgrid_common.db import reading
from salesgrid_customers.domain.concurrency import check_version
from salesgrid_customers.domain.customer import Customer, PartnerProfile
from salesgrid_customers.domain.errors import ValidationFailed
from salesgrid_customers.stores.customer_lists import partners_page
from salesgrid_customers.stores.facts import contract_customer
from salesgrid_customers.stores.customers import save_customer
from salesgrid_customers.usecases._support import CustomersUseCasesBase


def check_profile(channel: str, tier: str, contract_id: str) -> tuple[str, str, str]:
    """(channel, tier, contract id) of a partner profile; an empty channel ends the partnership
    and must name nothing else."""
    channel, tier, contract_id = channel.strip().lower(), tier.strip().lower(), contract_id.strip()
    if not channel:
        if tier or contract_id:
            raise ValidationFailed("name the channel (agent or distributor) of a partner", "channel")
        return "", "", ""
    problems = []
    if channel not in PARTNER_CHANNELS:
        problems.append(("channel", f"must be one of {', '.join(PARTNER_CHANNELS)} (empty: not a partner)"))
    if tier not in PARTNER_TIERS:
        problems.append(("tier", f"must be one of {', '.join(PARTNER_TIERS)}"))
    if problems:
        raise ValidationFailed.many(problems)
    return channel, tier, contract_id


class PartnersMixin(CustomersUseCasesBase):
    """CustomersUseCases: channel partners."""

    async def set_partner_profile(
        self,
        principal: Principal,
        customer_id: str,
        *,
        channel: str,
        tier: str,
        contract_id: str,
        expected_version: int,
    ) -> Customer:
        """The owner (or whoever may update the account) sets its partner profile; a partner
        agreement must be one of this account's contracts as contracts' events describe them."""
        channel, tier, contract_id = check_profile(channel, tier, contract_id)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            current = await self._writable(session, principal, customer_id)
            check_version(expected_version, current.version)
            if contract_id:
                if await contract_customer(session, contract_id) != current.id:
                    raise ValidationFailed("is not a known contract of this account", "contract_id")
            stored = await save_customer(
                session, current, replace(current, partner=PartnerProfile(channel, tier, contract_id), updated_at=now)
            )
            await self._emit_state(session, "updated", stored, principal)
            return stored

    async def list_partners(
        self, principal: Principal, *, channel: str = "", tier: str = "", page_size: int = 50, cursor: str = ""
    ) -> tuple[list[Customer], str]:
        """Partners in the caller's customer scope, newest first."""
        principal.require("customers:read")
        if channel.strip() and channel.strip() not in PARTNER_CHANNELS:
            raise ValidationFailed(f"must be one of {', '.join(PARTNER_CHANNELS)}", "channel")
        if tier.strip() and tier.strip() not in PARTNER_TIERS:
            raise ValidationFailed(f"must be one of {', '.join(PARTNER_TIERS)}", "tier")
        async with reading(self.reader) as connection:
            return await partners_page(
                connection, principal, channel=channel.strip(), tier=tier.strip(), page_size=page_size, cursor=cursor
            )
