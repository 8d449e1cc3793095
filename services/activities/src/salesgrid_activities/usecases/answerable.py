"""Who answers for an API key (domain/answerable.py), from the directory replica: the key's
creator if still active, else the nearest administrators over the key's unit."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.directory_tables import directory_users
from salesgrid_activities.domain import answerable


async def answerable_for_key(session: AsyncSession, creator_id: str, key_path: str) -> list[str]:
    creator = None
    if creator_id:
        row = (await session.execute(select(directory_users).where(directory_users.c.user_id == creator_id))).first()
        if row is not None:
            creator = answerable.Person(row.user_id, row.org_path, tuple(row.roles.split(",")), row.active)
    if creator is not None and creator.active:
        return [creator.user_id]
    admins = (
        await session.execute(
            select(directory_users.c.user_id, directory_users.c.org_path, directory_users.c.roles).where(
                directory_users.c.active.is_(True),
                directory_users.c.roles.contains(answerable.ADMIN_ROLE, autoescape=True),
            )
        )
    ).all()
    people = [answerable.Person(uid, path, tuple(roles.split(",")), True) for uid, path, roles in admins]
    return answerable.answerable_for_key(creator, key_path, people)
