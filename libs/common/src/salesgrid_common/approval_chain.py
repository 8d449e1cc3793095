"""The management chain an approval is routed up, read from the directory replica."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.approval import ROLE_RANK
from salesgrid_common.directory import get_user

MAX_CHAIN = 20  # depth guard: a cycle in replicated data must not loop forever


async def management_chain(session: AsyncSession, submitter_id: str, owner_id: str) -> list[tuple[str, str]]:
    """(user id, most senior approving role) up the submitter's active managers, nearest first;
    the owner of the record is left out so nobody approves his own submission."""
    chain: list[tuple[str, str]] = []
    user = await get_user(session, submitter_id)
    seen = {submitter_id}
    while user is not None and user.manager_id and user.manager_id not in seen and len(chain) < MAX_CHAIN:
        seen.add(user.manager_id)
        user = await get_user(session, user.manager_id)
        if user is None or not user.active:
            continue
        ranked = sorted(user.roles, key=lambda r: ROLE_RANK.get(r, 0))
        if user.user_id != owner_id:
            chain.append((user.user_id, ranked[-1] if ranked else ""))
    return chain
